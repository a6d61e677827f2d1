import { z } from 'zod';
import { trimSlashes } from '../../address.js';
import type { Config } from '../../config.js';
import { ValidationError } from '../../errors.js';
import { assertSafeRef, vaultPathProblem } from '../../safe-names.js';
import { configuredVault, type VaultRef } from './ref.js';

/** How a person names a Vault secret: `{ "vault": "<configured name or address>", "mount"?, "path", "namespace"? }`. */
export const VaultInputSchema = z
  .object({
    vault: z.string().min(1),
    mount: z.string().min(1).optional(),
    path: z.string().min(1),
    namespace: z.string().optional(),
  })
  .strict();

/** The ref, on a configured server and mount (the first mount by default); a 400 otherwise. */
export function vaultRefFromInput(value: z.output<typeof VaultInputSchema>, config: Config): VaultRef {
  const vault = configuredVault(value.vault, config.vaults);
  if (!vault) {
    throw new ValidationError(`vault "${value.vault}" is not configured`, [
      `configured: ${config.vaults.map((v) => v.name).join(', ') || 'none'}`,
    ]);
  }
  const mount = trimSlashes(value.mount ?? vault.mounts[0]?.path ?? '');
  if (!vault.mounts.some((m) => trimSlashes(m.path) === mount)) {
    throw new ValidationError(`mount "${mount}" is not configured for vault "${vault.name}"`);
  }
  // Checked before trimming: '/app/db/' is fine, 'app//db' and '../x' are not.
  const problem =
    vaultPathProblem(value.path, 'path') ??
    (value.mount ? vaultPathProblem(value.mount, 'mount') : undefined) ??
    (value.namespace ? vaultPathProblem(value.namespace, 'namespace') : undefined);
  if (problem) throw new ValidationError(problem);
  return assertSafeRef({
    backend: 'vault',
    address: vault.address,
    namespace: trimSlashes(value.namespace ?? vault.namespace),
    mount,
    path: trimSlashes(value.path),
  }) as VaultRef;
}
