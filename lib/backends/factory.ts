import type { Config } from '../config.js';
import type { SecretRef } from '../secret-ref.js';
import type { Backend, CallObserver } from './backend.js';
import type { KeyVaultClientOptions, SecretClientFactory } from './keyvault/client.js';
import type { VaultClientFactory } from './vault/client.js';

/** Injection points; every field is optional and production leaves them unset. */
export interface BackendDeps {
  keyVault?: KeyVaultClientOptions & { createClient?: SecretClientFactory };
  vault?: { createClient?: VaultClientFactory };
  observe?: CallObserver;
  /** Replaces the built-in list of backend kinds (tests, or a new kind not yet listed). */
  factories?: readonly BackendFactory[];
}

/** A backend kind: builds one Backend per configured store of that kind. */
export interface BackendFactory {
  kind: SecretRef['backend'];
  create(config: Config, deps: BackendDeps): Backend[];
}
