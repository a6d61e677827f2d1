import type { BackendFactory } from '../factory.js';
import { KeyVaultBackend } from './backend.js';
import { createSecretClient } from './client.js';

/** Azure Key Vault: one backend per entry of `config.keyVaults`. */
export const keyVaultFactory: BackendFactory = {
  kind: 'azure-keyvault',
  create(config, deps) {
    const createClient = deps.keyVault?.createClient ?? ((kv) => createSecretClient(kv, deps.keyVault ?? {}));
    return config.keyVaults.map((kv) => new KeyVaultBackend(kv, createClient, deps.observe));
  },
};

export { KeyVaultBackend } from './backend.js';
export { createSecretClient, emulatorCredential } from './client.js';
