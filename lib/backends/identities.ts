import type { SecretRef } from '../secret-ref.js';
import type { BackendIdentity, MatchOptions, RefMatcher } from './identity.js';
import { keyVaultIdentity } from './keyvault/identity.js';
import { vaultIdentity } from './vault/identity.js';

/**
 * The registry of backend identities: what each kind of store calls its secrets and how
 * cluster objects name them. Adding a backend = adding its folder and one line here.
 * Only pure modules are imported, so operators and parsers load no SDK through it.
 */
const IDENTITIES: { [B in SecretRef['backend']]: BackendIdentity<Extract<SecretRef, { backend: B }>> } = {
  'azure-keyvault': keyVaultIdentity,
  vault: vaultIdentity,
};

export function identityOf(ref: SecretRef): BackendIdentity<SecretRef> {
  return IDENTITIES[ref.backend] as BackendIdentity<SecretRef>;
}

/** The ref's rules for reading cluster objects, under the configuration's spellings. */
export function matcherFor(ref: SecretRef, options: MatchOptions = {}): RefMatcher {
  return identityOf(ref).matcher(ref, options);
}

export type { CsiObject, CsiSelection, MatchOptions, RefMatcher } from './identity.js';
