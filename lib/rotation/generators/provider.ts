import type { SecretValue } from '../../backends/backend.js';
import type { SecretRef } from '../../secret-ref.js';
import type { GeneratorSpec, RotationPolicy } from '../policy.js';

/**
 * A credential that lives in another system (a database role, an API key) and must be
 * changed there as well as in the secret store. The engine decides the order of the
 * two writes (see engine.ts); a provider only changes the credential at its end.
 */
export interface ProviderContext {
  ref: SecretRef;
  /** The configured store (`keyVaults[].name` / `vaults[].name`) that holds `ref`. */
  store: string;
  policy: RotationPolicy;
  /** The secret's current value: the credential consumers hold now. */
  current: SecretValue;
}

export interface IssuedCredential {
  /** Fields to store (merged into the current value's fields). */
  fields: Record<string, string>;
  /** The credential id the new version points at (recorded in the CredentialId tag). */
  credentialId: string;
  /** The field that is the whole value when the current value is a plain string. */
  primaryField: string;
}

export interface CredentialProvider {
  /** The `rotor-generator` value this provider serves. */
  readonly kind: GeneratorSpec['kind'];
  /**
   * Why configuration does not allow this rotation (a reason naming the config field to
   * change), or undefined when it does. Decided from configuration, before any connection.
   */
  authorize(context: ProviderContext): string | undefined;
  /** Creates a new credential and makes it valid at the provider. Nothing is stored yet. */
  issue(context: ProviderContext): Promise<IssuedCredential>;
  /**
   * Makes the provider accept the credential held in `stored` again: after the secret
   * write failed (stored = the old value) or lost a race (stored = the winner's value).
   * `issued` is what `issue` set, for providers that must log in with it.
   */
  restore(context: ProviderContext, stored: SecretValue, issued: IssuedCredential): Promise<void>;
  close(): Promise<void>;
}
