/**
 * Backend access for the operator stand-ins (test doubles): the real Key Vault endpoint
 * through @azure/keyvault-secrets trusting only the environment's CA, and the real
 * OpenBao through node-vault.
 */
import { SecretClient } from '@azure/keyvault-secrets';
import nodeVault from 'node-vault';
import { staticTokenCredential } from '../env/keyvault-client.js';

export interface KeyVaultAccess {
  /** PEM of the CA the Key Vault endpoint's certificate chains to. */
  caPem: string;
}

export interface VaultAccess {
  /** Used when a store/VaultAuth carries no token the stand-in can read. */
  token: string;
  /**
   * Addresses written in cluster objects (in-cluster service names) → the address the
   * stand-in can reach, like cluster DNS would resolve them.
   */
  addressMap?: Readonly<Record<string, string>>;
}

export type VaultClient = nodeVault.client;

export function keyVaultClientFactory(access: KeyVaultAccess): (vaultUrl: string) => SecretClient {
  const clients = new Map<string, SecretClient>();
  return (vaultUrl) => {
    let client = clients.get(vaultUrl);
    if (!client) {
      client = new SecretClient(vaultUrl, staticTokenCredential(), {
        tlsOptions: { ca: access.caPem },
        disableChallengeResourceVerification: true,
        retryOptions: { maxRetries: 0 },
      });
      clients.set(vaultUrl, client);
    }
    return client;
  };
}

function reachable(address: string, access: VaultAccess): string {
  const trimmed = address.replace(/\/+$/, '');
  for (const [from, to] of Object.entries(access.addressMap ?? {})) {
    if (from.replace(/\/+$/, '') === trimmed) return to;
  }
  return address;
}

export function vaultClient(
  access: VaultAccess,
  address: string,
  token: string,
  namespace: string,
): VaultClient {
  const client = nodeVault({
    apiVersion: 'v1',
    endpoint: reachable(address, access),
    requestOptions: { timeout: 5_000 },
  });
  // node-vault would fall back to VAULT_TOKEN / VAULT_NAMESPACE from the environment.
  const mutable = client as VaultClient & { namespace?: string };
  mutable.token = token;
  mutable.namespace = namespace;
  return client;
}

/** The backend's own error text (Vault's `errors` array, Key Vault's message). */
export function backendMessage(error: unknown): string {
  const e = error as {
    response?: { statusCode?: number; body?: { errors?: string[] } };
    message?: string;
    statusCode?: number;
  };
  if (e.response?.statusCode) {
    const errors = e.response.body?.errors?.join('; ');
    return `Code: ${e.response.statusCode}. Errors: ${errors || e.message || 'none'}`;
  }
  return e.message ?? String(error);
}
