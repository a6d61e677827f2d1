import { ValidationError } from './errors.js';
import { refKey, type SecretRef } from './secret-ref.js';

/**
 * The one validation of secret names and paths, whatever brought them (HTTP body, CLI
 * flags, an audit entry, an event): a Vault path is appended to the server's URL, so `..`,
 * `.`, empty segments and their percent-encoded spellings would address another endpoint
 * (`secret/data/../../sys/mounts`), and control characters, `?`, `#` and `\` change what
 * the URL means. Key Vault names have their own documented alphabet.
 */

/** Key Vault object names: 1-127 alphanumerics and dashes. */
const KEY_VAULT_OBJECT_NAME = /^[0-9a-zA-Z-]{1,127}$/;

const PERCENT_ENCODED = /%[0-9a-f]{2}/i;
const URL_SPECIAL = /[?#\\]/;

/** Why `value` is not a plain Vault path (or mount, or namespace), or undefined when it is. */
export function vaultPathProblem(value: string, what = 'path'): string | undefined {
  if ([...value].some((c) => isControl(c.codePointAt(0) ?? 0))) return `${what} contains control characters`;
  if (PERCENT_ENCODED.test(value)) return `${what} contains a percent-encoded character`;
  if (URL_SPECIAL.test(value)) return `${what} contains '?', '#' or '\\'`;
  const segments = value.replace(/^\/+|\/+$/g, '').split('/');
  if (segments.some((s) => s === '')) return `${what} has an empty segment`;
  if (segments.some((s) => s === '.' || s === '..')) return `${what} has a '.' or '..' segment`;
  return undefined;
}

/** Why `name` is not a Key Vault object name, or undefined when it is. */
export function keyVaultNameProblem(name: string): string | undefined {
  return KEY_VAULT_OBJECT_NAME.test(name)
    ? undefined
    : 'a Key Vault name is 1-127 letters, digits and dashes';
}

/** Why a reference cannot be sent to its backend as it is, or undefined. */
function refProblem(ref: SecretRef): string | undefined {
  if (ref.backend === 'azure-keyvault') return keyVaultNameProblem(ref.name);
  return (
    vaultPathProblem(ref.mount, 'mount') ??
    vaultPathProblem(ref.path, 'path') ??
    (ref.namespace ? vaultPathProblem(ref.namespace, 'namespace') : undefined)
  );
}

/** Throws the 400 (exit 2 on the command line) every entry point gives an unsafe reference. */
export function assertSafeRef(ref: SecretRef): SecretRef {
  const problem = refProblem(ref);
  if (problem) throw new ValidationError(`${refKey(ref).slice(0, 300)}: ${problem}`);
  return ref;
}

function isControl(code: number): boolean {
  return code < 0x20 || (code >= 0x7f && code <= 0x9f);
}
