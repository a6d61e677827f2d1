import { z } from 'zod';
import type { Config } from './config.js';
import { ValidationError } from './errors.js';
import { assertSafeRef, vaultPathProblem } from './safe-names.js';
import { keyVaultNameFromUrl, normaliseAddress, type SecretRef, trimSlashes } from './secret-ref.js';

/**
 * How a person names a secret (HTTP body of /api/rotate and /api/refresh, CLI flags):
 *   { "keyVault": "<name or URL>", "name": "db-password" }
 *   { "vault": "<configured name or address>", "mount": "secret", "path": "app/db", "namespace"?: "team-a" }
 * Resolved against the configuration, so a typo in a vault name is a 400, not a silent no-op.
 */
export const RefInputSchema = z.union([
  z.object({ keyVault: z.string().min(1), name: z.string().min(1) }).strict(),
  z
    .object({
      vault: z.string().min(1),
      mount: z.string().min(1).optional(),
      path: z.string().min(1),
      namespace: z.string().optional(),
    })
    .strict(),
]);

export type RefInput = z.infer<typeof RefInputSchema>;

export function resolveRefInput(input: unknown, config: Config): SecretRef {
  const parsed = RefInputSchema.safeParse(input);
  if (!parsed.success) {
    throw new ValidationError('body must name a secret as {keyVault, name} or {vault, mount, path}', [
      ...parsed.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`),
    ]);
  }
  const value = parsed.data;
  if ('keyVault' in value) {
    const name = /^https?:\/\//i.test(value.keyVault)
      ? keyVaultNameFromUrl(value.keyVault)
      : value.keyVault.toLowerCase();
    if (!config.keyVaults.some((kv) => kv.name === name)) {
      throw new ValidationError(`key vault "${name}" is not configured`, [
        `configured: ${config.keyVaults.map((k) => k.name).join(', ') || 'none'}`,
      ]);
    }
    return assertSafeRef({ backend: 'azure-keyvault', vault: name, name: value.name });
  }
  const vault = config.vaults.find(
    (v) =>
      v.name === value.vault ||
      v.address === normaliseAddress(value.vault) ||
      v.aliases.includes(normaliseAddress(value.vault)),
  );
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
  });
}
