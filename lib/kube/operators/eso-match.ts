import type { SecretRef, VaultRef } from '../../secret-ref.js';
import { trimSlashes } from '../../secret-ref.js';
import type { KubeObject } from '../api/objects.js';
import { parseGoDuration } from '../duration.js';
import type { BackendMatcher } from './address.js';

/**
 * Pure ESO rules: which store a provider points at, which data entries select a secret,
 * and whether ESO will act on a forced sync. Field names follow external-secrets.io/v1.
 */

export interface RemoteRef {
  key: string;
  property?: string;
  version?: string;
}

export interface Find {
  path?: string;
  name?: { regexp?: string };
  tags?: Record<string, string>;
}

export interface StoreKey {
  kind: 'SecretStore' | 'ClusterSecretStore';
  name: string;
}

interface SourceRef {
  storeRef?: { kind?: string; name?: string };
  generatorRef?: unknown;
}

export interface ExternalSecretSpec {
  secretStoreRef?: { kind?: string; name?: string };
  data?: Array<{ secretKey: string; remoteRef: RemoteRef; sourceRef?: SourceRef }>;
  dataFrom?: Array<{ extract?: RemoteRef; find?: Find; sourceRef?: SourceRef }>;
  refreshInterval?: string;
  refreshPolicy?: 'CreatedOnce' | 'Periodic' | 'OnChange';
  target?: { name?: string; creationPolicy?: string; immutable?: boolean };
  syncWindows?: unknown;
}

export type StoreProvider =
  | { type: 'azurekv'; vaultUrl: string }
  | { type: 'vault'; server: string; path?: string; version: 'v1' | 'v2'; namespace: string }
  | { type: 'other'; name: string };

export type StoreLookup = (key: StoreKey) => StoreProvider | undefined;

export function providerOf(store: KubeObject): StoreProvider {
  const provider = (store.spec?.provider ?? {}) as Record<string, Record<string, unknown> | undefined>;
  const azure = provider.azurekv;
  if (azure && typeof azure.vaultUrl === 'string') return { type: 'azurekv', vaultUrl: azure.vaultUrl };
  const vault = provider.vault;
  if (vault && typeof vault.server === 'string') {
    return {
      type: 'vault',
      server: vault.server,
      path: typeof vault.path === 'string' && vault.path !== '' ? vault.path : undefined,
      version: vault.version === 'v1' ? 'v1' : 'v2',
      namespace: typeof vault.namespace === 'string' ? trimSlashes(vault.namespace) : '',
    };
  }
  return { type: 'other', name: Object.keys(provider)[0] ?? 'unknown' };
}

export function storeKey(ref: { kind?: string; name?: string } | undefined): StoreKey | undefined {
  if (!ref?.name) return undefined;
  return { kind: ref.kind === 'ClusterSecretStore' ? 'ClusterSecretStore' : 'SecretStore', name: ref.name };
}

/** The store's provider is the ref's backend (same vault; same server, namespace). */
export function providerMatches(provider: StoreProvider, ref: SecretRef, matcher: BackendMatcher): boolean {
  if (provider.type === 'azurekv')
    return ref.backend === 'azure-keyvault' && matcher.keyVaultUrl(provider.vaultUrl);
  if (provider.type === 'vault') {
    return (
      ref.backend === 'vault' && matcher.vaultServer(provider.server) && provider.namespace === ref.namespace
    );
  }
  return false;
}

/**
 * The Vault API path ESO reads for a key: the mount comes from the store's `path` or is
 * the key's first segment, and v2 stores insert `data` after it unless already there
 * (ESO pkg/provider/vault buildPath).
 */
export function vaultReadPath(provider: { path?: string; version: 'v1' | 'v2' }, key: string): string {
  let rest = trimSlashes(key);
  if (provider.path !== undefined) {
    const mount = trimSlashes(provider.path);
    if (rest.startsWith(`${mount}/`)) {
      rest = rest.slice(mount.length + 1);
      if (provider.version === 'v2' && rest.startsWith('data/')) rest = rest.slice('data/'.length);
    }
    return provider.version === 'v2' ? `${mount}/data/${rest}` : `${mount}/${rest}`;
  }
  if (provider.version === 'v2' && !rest.includes('/data/')) {
    const [mount, ...tail] = rest.split('/');
    return [mount, 'data', ...tail].join('/');
  }
  return rest;
}

export function vaultRefReadPaths(ref: VaultRef): string[] {
  return [`${ref.mount}/data/${ref.path}`, `${ref.mount}/${ref.path}`];
}

function keySelects(provider: StoreProvider, key: string, ref: SecretRef): boolean {
  if (provider.type === 'azurekv' && ref.backend === 'azure-keyvault') {
    const trimmed = key.trim();
    const [kind, name] = trimmed.includes('/') ? trimmed.split('/', 2) : ['secret', trimmed];
    return kind === 'secret' && (name ?? '').toLowerCase() === ref.name.toLowerCase();
  }
  if (provider.type === 'vault' && ref.backend === 'vault') {
    const path = vaultReadPath(provider, key);
    const wanted = provider.version === 'v2' ? `${ref.mount}/data/${ref.path}` : `${ref.mount}/${ref.path}`;
    return path === wanted;
  }
  return false;
}

interface FindResult {
  selected: boolean;
  warning?: string;
}

function regexpMatches(pattern: string, subject: string): boolean | 'invalid' {
  try {
    // ESO uses Go's regexp.MatchString: unanchored, like RegExp.test.
    return new RegExp(pattern).test(subject);
  } catch {
    return 'invalid';
  }
}

function findSelects(provider: StoreProvider, find: Find, ref: SecretRef): FindResult {
  let subject: string;
  if (provider.type === 'azurekv' && ref.backend === 'azure-keyvault') subject = ref.name;
  else if (provider.type === 'vault' && ref.backend === 'vault') {
    if (provider.version === 'v1') return { selected: false };
    const full = `${ref.mount}/${ref.path}`;
    const mount = provider.path !== undefined ? trimSlashes(provider.path) : undefined;
    if (mount !== undefined && mount !== ref.mount) return { selected: false };
    subject = mount !== undefined ? ref.path : full;
    if (find.path) {
      const prefix = trimSlashes(find.path);
      if (prefix && subject !== prefix && !subject.startsWith(`${prefix}/`)) return { selected: false };
    }
  } else return { selected: false };

  if (find.name?.regexp) {
    const m = regexpMatches(find.name.regexp, subject);
    if (m === 'invalid')
      return {
        selected: false,
        warning: `dataFrom.find.name.regexp "${find.name.regexp}" is not a valid regular expression`,
      };
    if (!m) return { selected: false };
  }
  if (find.tags && Object.keys(find.tags).length > 0) {
    return {
      selected: true,
      warning: 'selected by dataFrom.find.tags, which rotor does not read: treated as a consumer',
    };
  }
  // ESO's find needs a name or tags; a path alone selects nothing.
  return { selected: Boolean(find.name?.regexp) };
}

export interface Selection {
  selected: boolean;
  warnings: string[];
}

/** Whether an ExternalSecret spec reads the ref, through its default store or per-entry stores. */
export function specSelects(
  spec: ExternalSecretSpec,
  lookup: StoreLookup,
  ref: SecretRef,
  matcher: BackendMatcher,
): Selection {
  const warnings: string[] = [];
  let selected = false;
  const providerFor = (source: SourceRef | undefined): StoreProvider | undefined => {
    if (source?.generatorRef) return undefined;
    const key = storeKey(source?.storeRef) ?? storeKey(spec.secretStoreRef);
    if (!key) return undefined;
    const provider = lookup(key);
    return provider && providerMatches(provider, ref, matcher) ? provider : undefined;
  };
  for (const entry of spec.data ?? []) {
    const provider = providerFor(entry.sourceRef);
    if (!provider || !keySelects(provider, entry.remoteRef.key, ref)) continue;
    selected = true;
    if (entry.remoteRef.version)
      warnings.push(
        `data[${entry.secretKey}] is pinned to version ${entry.remoteRef.version}: a refresh keeps that version`,
      );
  }
  for (const entry of spec.dataFrom ?? []) {
    const provider = providerFor(entry.sourceRef);
    if (!provider) continue;
    if (entry.extract && keySelects(provider, entry.extract.key, ref)) {
      selected = true;
      if (entry.extract.version)
        warnings.push(
          `dataFrom.extract is pinned to version ${entry.extract.version}: a refresh keeps that version`,
        );
    }
    if (entry.find) {
      const r = findSelects(provider, entry.find, ref);
      if (r.warning) warnings.push(r.warning);
      selected ||= r.selected;
    }
  }
  return { selected, warnings };
}

export interface Forceability {
  forceable: boolean;
  fix?: string;
  warnings: string[];
}

/**
 * ESO skips a sync when refreshPolicy is CreatedOnce, when the policy is Periodic (or
 * unset) with refreshInterval 0 after the first sync (even after an annotation change),
 * and once an immutable target was synced (externalsecret controller shouldRefresh /
 * shouldReconcile).
 */
export function specForceability(spec: ExternalSecretSpec): Forceability {
  const warnings: string[] = [];
  const policy = spec.refreshPolicy ?? 'Periodic';
  const intervalText = spec.refreshInterval ?? '1h0m0s';
  const interval = parseGoDuration(intervalText);
  if (interval === undefined) warnings.push(`refreshInterval "${intervalText}" is not a Go duration`);
  if (spec.target?.creationPolicy === 'None')
    warnings.push('target.creationPolicy None: ESO writes no Secret, nothing to restart');
  if (spec.syncWindows)
    warnings.push('syncWindows set: a forced sync outside a window waits for the next window');
  if (policy === 'CreatedOnce') {
    return {
      forceable: false,
      fix: 'refreshPolicy CreatedOnce never syncs again: set spec.refreshPolicy: OnChange (annotation changes sync) or Periodic with a non-zero refreshInterval',
      warnings,
    };
  }
  if (policy === 'Periodic' && interval === 0) {
    return {
      forceable: false,
      fix: 'refreshInterval 0 with refreshPolicy Periodic (or unset) ignores forced syncs after the first sync: set spec.refreshInterval to a non-zero duration (e.g. 1h) or spec.refreshPolicy: OnChange',
      warnings,
    };
  }
  if (spec.target?.immutable === true) {
    return {
      forceable: false,
      fix: 'target.immutable: true stops ESO from updating the Secret after the first sync: set spec.target.immutable: false',
      warnings,
    };
  }
  return { forceable: true, warnings };
}

/** ESO's default target name is the ExternalSecret's own name. */
export function targetName(spec: ExternalSecretSpec, esName: string): string {
  return spec.target?.name || esName;
}
