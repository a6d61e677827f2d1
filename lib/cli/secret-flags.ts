import { configuredKeyVaultOf, keyVaultUrlOf } from '../backends/keyvault/ref.js';
import type { Config } from '../config.js';
import { RotorError } from '../errors.js';
import { resolveRefInput } from '../ref-input.js';
import type { SecretRef } from '../secret-ref.js';

/** A mistake in how the command was called: exit code 2, said in terms of its flags. */
export class UsageError extends RotorError {
  constructor(message: string) {
    super('usage', message, false);
  }
}

export interface SecretFlags {
  keyvault?: string | undefined;
  name?: string | undefined;
  vault?: string | undefined;
  mount?: string | undefined;
  path?: string | undefined;
  namespace?: string | undefined;
}

/**
 * The secret a command names, checked flag by flag before it is resolved against the
 * configuration, so a missing flag is reported as that flag, not as an HTTP body problem.
 */
export function secretFromFlags(v: SecretFlags, config: Config): SecretRef {
  if (v.keyvault !== undefined && v.vault !== undefined)
    throw new UsageError('give either --keyvault or --vault, not both');
  if (v.keyvault !== undefined) {
    if (!v.name)
      throw new UsageError(`--keyvault ${v.keyvault} needs --name SECRET (the secret's name in it)`);
    if (v.path !== undefined || v.mount !== undefined)
      throw new UsageError('--path and --mount go with --vault; a Key Vault secret is named with --name');
    return resolveRefInput({ keyVault: keyVaultName(v.keyvault, config), name: v.name }, config);
  }
  if (v.vault !== undefined) {
    if (!v.path)
      throw new UsageError(
        `--vault ${v.vault} needs --path PATH (the secret's path in the mount, e.g. app/db)`,
      );
    if (v.name !== undefined)
      throw new UsageError('--name goes with --keyvault; a Vault secret is named with --path');
    return resolveRefInput(
      {
        vault: v.vault,
        path: v.path,
        ...(v.mount === undefined ? {} : { mount: v.mount }),
        ...(v.namespace === undefined ? {} : { namespace: v.namespace }),
      },
      config,
    );
  }
  throw new UsageError('name the secret: --keyvault NAME --name SECRET, or --vault NAME --path PATH');
}

/** A Key Vault given by URL is the configured one with that URL (an emulator's URL has no vault name in it). */
function keyVaultName(given: string, config: Config): string {
  if (!/^https?:\/\//i.test(given)) return given;
  const byUrl = configuredKeyVaultOf(given, config.keyVaults);
  if (byUrl) return byUrl.name;
  const known = config.keyVaults.map((k) => `${k.name} (${keyVaultUrlOf(k)})`);
  throw new UsageError(
    `no configured Key Vault has the URL ${given}; configured: ${known.join(', ') || 'none'}`,
  );
}
