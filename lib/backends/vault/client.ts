import { readFileSync } from 'node:fs';
import type nodeVault from 'node-vault';
import type { VaultConfig } from '../../config.js';
import { ConfigError } from '../../errors.js';

export type VaultClient = nodeVault.client;

export interface VaultClientOptions {
  endpoint: string;
  /** X-Vault-Namespace; '' for the root namespace. */
  namespace: string;
  /** PEM of an extra CA trusted for this client only. */
  ca?: string;
}

export type VaultClientFactory = (options: VaultClientOptions) => VaultClient | Promise<VaultClient>;

/**
 * node-vault falls back to VAULT_TOKEN / VAULT_NAMESPACE from the process environment
 * when a value is empty; rotor's configuration is the only source, so both are set
 * explicitly after construction.
 */
export const createVaultClient: VaultClientFactory = async (options) => {
  // Loaded on the first call to a Vault server, not at start.
  const { default: nodeVault } = await import('node-vault');
  const client = nodeVault({
    apiVersion: 'v1',
    endpoint: options.endpoint,
    ...(options.ca ? { requestOptions: { ca: options.ca } } : {}),
  });
  const mutable = client as VaultClient & { namespace?: string };
  mutable.token = '';
  mutable.namespace = options.namespace;
  return client;
};

export function caOf(config: VaultConfig): string | undefined {
  if (!config.tls.caFile) return undefined;
  try {
    return readFileSync(config.tls.caFile, 'utf8');
  } catch (error) {
    throw new ConfigError([`vaults[${config.name}].tls.caFile: cannot read ${config.tls.caFile}`], {
      cause: error,
    });
  }
}

/**
 * Authenticates a client with the configured method. AppRole logs in lazily, once per
 * client even under concurrent calls, and again after a token is refused.
 */
export class VaultAuth {
  private readonly logins = new WeakMap<VaultClient, Promise<void>>();

  constructor(private readonly config: VaultConfig) {}

  /** Ensures the client carries a token. */
  async authenticate(client: VaultClient): Promise<void> {
    const auth = this.config.auth;
    if (!auth)
      throw new ConfigError([`vaults[${this.config.name}].auth: set a token or approle credentials`]);
    if (auth.method === 'token') {
      client.token = auth.token.reveal();
      return;
    }
    if (client.token) return;
    let login = this.logins.get(client);
    if (!login) {
      // approleLogin stores the returned client_token on the client (node-vault's tokenSource).
      login = client
        .approleLogin({ mount_point: auth.mount, role_id: auth.roleId, secret_id: auth.secretId.reveal() })
        .then(() => undefined)
        .finally(() => this.logins.delete(client));
      this.logins.set(client, login);
    }
    await login;
  }

  /** Forgets a refused AppRole token so the next call logs in again; a static token cannot recover. */
  invalidate(client: VaultClient): boolean {
    if (this.config.auth?.method !== 'approle') return false;
    client.token = '';
    return true;
  }
}
