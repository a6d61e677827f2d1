import { z } from 'zod';
import { KeyVaultInputSchema, keyVaultRefFromInput } from './backends/keyvault/input.js';
import { VaultInputSchema, vaultRefFromInput } from './backends/vault/input.js';
import type { Config } from './config.js';
import { ValidationError } from './errors.js';
import type { SecretRef } from './secret-ref.js';

/**
 * How a person names a secret (HTTP body of /api/rotate and /api/refresh, CLI flags):
 *   { "keyVault": "<name or URL>", "name": "db-password" }
 *   { "vault": "<configured name or address>", "mount": "secret", "path": "app/db", "namespace"?: "team-a" }
 * Each backend folder owns its shape and resolves it against the configuration, so a typo
 * in a vault name is a 400, not a silent no-op.
 */
interface InputKind {
  /** The ref when the input has this backend's shape, else undefined. */
  resolve(input: unknown, config: Config): SecretRef | undefined;
}

function inputKind<T>(schema: z.ZodType<T>, resolve: (value: T, config: Config) => SecretRef): InputKind {
  return {
    resolve(input, config) {
      const value = schema.safeParse(input);
      return value.success ? resolve(value.data, config) : undefined;
    },
  };
}

const INPUTS: readonly InputKind[] = [
  inputKind(KeyVaultInputSchema, keyVaultRefFromInput),
  inputKind(VaultInputSchema, vaultRefFromInput),
];

export const RefInputSchema = z.union([KeyVaultInputSchema, VaultInputSchema]);

export function resolveRefInput(input: unknown, config: Config): SecretRef {
  const parsed = RefInputSchema.safeParse(input);
  if (!parsed.success) {
    throw new ValidationError('body must name a secret as {keyVault, name} or {vault, mount, path}', [
      ...parsed.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`),
    ]);
  }
  for (const kind of INPUTS) {
    const ref = kind.resolve(parsed.data, config);
    if (ref) return ref;
  }
  throw new ValidationError('body must name a secret as {keyVault, name} or {vault, mount, path}');
}
