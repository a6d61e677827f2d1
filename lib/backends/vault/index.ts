import type { BackendFactory } from '../factory.js';
import { VaultBackend } from './backend.js';
import { createVaultClient } from './client.js';

/** HashiCorp Vault / OpenBao: one backend per entry of `config.vaults`. */
export const vaultFactory: BackendFactory = {
  kind: 'vault',
  create(config, deps) {
    const createClient = deps.vault?.createClient ?? createVaultClient;
    return config.vaults.map((v) => new VaultBackend(v, createClient, deps.observe));
  },
};

export { VaultBackend } from './backend.js';
export { createVaultClient } from './client.js';
