import type { AddressAliases } from '../address.js';
import type { KeyVaultIdentity } from './keyvault/ref.js';
import type { VaultIdentity } from './vault/ref.js';

/**
 * What a backend knows about its own secrets that the rest of rotor asks about: how
 * cluster objects name its store (ESO provider blocks, CSI parameters, VSO connections,
 * bare addresses) and what its metadata means on a new version. Each backend folder
 * exports one; operators, the rotation engine and input parsing ask the registry
 * (identities.ts) and never branch on the backend kind. Pure: no SDK, no network.
 */
export interface BackendIdentity<R> {
  readonly kind: string;
  /** The rules for one ref, with the configuration that says which spellings are its store. */
  matcher(ref: R, options: MatchOptions): RefMatcher;
  /**
   * Metadata to send with a new version. `own` is rotor's keys; `droppable` the one
   * dropped first when the store's limit is reached. Key Vault tags belong to a version, so
   * every current tag is carried over; KV v2 custom_metadata belongs to the secret and is
   * merged by the server, so only rotor's keys are sent.
   */
  nextMetadata(
    current: Readonly<Record<string, string>>,
    own: Readonly<Record<string, string>>,
    droppable: string,
  ): Record<string, string>;
}

export interface MatchOptions {
  /** Canonical address → other spellings of it seen from clusters. */
  aliases?: AddressAliases;
  vaultConfigs?: readonly VaultIdentity[];
  /** Key Vaults with a non-default URL (emulators, private endpoints). */
  keyVaultConfigs?: readonly KeyVaultIdentity[];
}

/** Decides whether what a cluster object names is the ref's secret. */
export interface RefMatcher {
  /** An address written in a cluster object (a Vault server, a Key Vault URL) is the ref's store. */
  address(address: string): boolean;
  eso: EsoRules;
  csi: CsiRules;
  /** Vault Secrets Operator reads only Vault; other backends have none. */
  vso?: VsoRules;
}

/** ESO's view (external-secrets.io/v1): a SecretStore `spec.provider.<provider>` block and its keys. */
export interface EsoRules {
  /** The provider block's key in `spec.provider` (azurekv, vault). */
  readonly provider: string;
  /** The block points at the ref's store. */
  holds(block: Readonly<Record<string, unknown>>): boolean;
  /** A `remoteRef.key` (data, dataFrom.extract) read through the block is the ref's secret. */
  keySelects(block: Readonly<Record<string, unknown>>, key: string): boolean;
  /**
   * What `dataFrom.find.name.regexp` is matched against for the ref, or undefined when
   * the find cannot reach it (outside `find.path`, a KV v1 store).
   */
  findSubject(block: Readonly<Record<string, unknown>>, find: { path?: string }): string | undefined;
}

export interface CsiSelection {
  selected: boolean;
  warnings: string[];
}

/** The Secrets Store CSI driver's view: a SecretProviderClass of `provider` and its parsed objects. */
export interface CsiRules {
  readonly provider: string;
  selects(
    parameters: Readonly<Record<string, string | undefined>>,
    objects: readonly CsiObject[],
  ): CsiSelection;
}

export type CsiObject = Record<string, unknown>;

export interface VsoRules {
  /** A VaultStaticSecret's mount and path are the ref's. */
  reads(mount: string, path: string): boolean;
  /** The Vault namespace a VaultStaticSecret (or its VaultAuth) reads in is the ref's. */
  inNamespace(namespace: string): boolean;
}

export function text(v: unknown): string {
  return typeof v === 'string' ? v : v === undefined || v === null ? '' : String(v);
}
