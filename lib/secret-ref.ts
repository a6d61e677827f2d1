import { z } from 'zod';
import { type KeyVaultRef, KeyVaultRefSchema, keyVaultRefKey } from './backends/keyvault/ref.js';
import { type VaultRef, VaultRefSchema, vaultRefKey } from './backends/vault/ref.js';

/**
 * A secret in a backend, independent of how it was learned of. Identity is the whole
 * reference, never the name alone: the same name in another vault or mount is another
 * secret. Each backend folder defines its own reference (schema, key, address canon);
 * this module only joins them.
 */
export { normaliseAddress, trimSlashes } from './address.js';
export { type KeyVaultRef, KeyVaultRefSchema, keyVaultNameFromUrl } from './backends/keyvault/ref.js';
export { type VaultRef, VaultRefSchema } from './backends/vault/ref.js';

export const SecretRefSchema = z.discriminatedUnion('backend', [KeyVaultRefSchema, VaultRefSchema]);

export type SecretRef = KeyVaultRef | VaultRef;

const KEYS: { [B in SecretRef['backend']]: (ref: Extract<SecretRef, { backend: B }>) => string } = {
  'azure-keyvault': keyVaultRefKey,
  vault: vaultRefKey,
};

/** Stable string key, used for coalescing, leases and logs. Never contains a value. */
export function refKey(ref: SecretRef): string {
  return (KEYS[ref.backend] as (r: SecretRef) => string)(ref);
}
