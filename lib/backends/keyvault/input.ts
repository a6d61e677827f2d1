import { z } from 'zod';
import type { Config } from '../../config.js';
import { ValidationError } from '../../errors.js';
import { assertSafeRef } from '../../safe-names.js';
import { configuredKeyVaultOf, type KeyVaultRef, keyVaultNameFromUrl } from './ref.js';

/** How a person names a Key Vault secret: `{ "keyVault": "<name or URL>", "name": "db-password" }`. */
export const KeyVaultInputSchema = z
  .object({ keyVault: z.string().min(1), name: z.string().min(1) })
  .strict();

/** The ref, when the vault is configured (by name, or by a URL in the backend's canon); a 400 otherwise. */
export function keyVaultRefFromInput(
  value: z.output<typeof KeyVaultInputSchema>,
  config: Config,
): KeyVaultRef {
  const name = /^https?:\/\//i.test(value.keyVault)
    ? (configuredKeyVaultOf(value.keyVault, config.keyVaults)?.name ?? keyVaultNameFromUrl(value.keyVault))
    : value.keyVault.toLowerCase();
  if (!config.keyVaults.some((kv) => kv.name === name)) {
    throw new ValidationError(`key vault "${name}" is not configured`, [
      `configured: ${config.keyVaults.map((k) => k.name).join(', ') || 'none'}`,
    ]);
  }
  return assertSafeRef({ backend: 'azure-keyvault', vault: name, name: value.name }) as KeyVaultRef;
}
