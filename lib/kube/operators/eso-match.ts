import type { RefMatcher } from '../../backends/identities.js';
import type { KubeObject } from '../api/objects.js';
import { parseGoDuration } from '../duration.js';

/**
 * Pure ESO rules: which data entries select a secret, and whether ESO will act on a forced
 * sync. Field names follow external-secrets.io/v1. What a provider block and a key mean
 * for a backend is the backend's (RefMatcher.eso, from lib/backends).
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

/** A store's provider: the key of its `spec.provider` block (azurekv, vault, ...) and the block. */
export interface StoreProvider {
  type: string;
  block: Readonly<Record<string, unknown>>;
}

export type StoreLookup = (key: StoreKey) => StoreProvider | undefined;

export function providerOf(store: KubeObject): StoreProvider {
  const provider = (store.spec?.provider ?? {}) as Record<string, unknown>;
  const [type, block] = Object.entries(provider).find(([, b]) => b && typeof b === 'object') ?? [
    'unknown',
    {},
  ];
  return { type, block: block as Record<string, unknown> };
}

export function specOf(obj: KubeObject): ExternalSecretSpec {
  return (obj.spec ?? {}) as ExternalSecretSpec;
}

function storeKey(ref: { kind?: string; name?: string } | undefined): StoreKey | undefined {
  if (!ref?.name) return undefined;
  return { kind: ref.kind === 'ClusterSecretStore' ? 'ClusterSecretStore' : 'SecretStore', name: ref.name };
}

/** The store's provider is the ref's backend (same vault; same server, namespace). */
function providerMatches(provider: StoreProvider, matcher: RefMatcher): boolean {
  return provider.type === matcher.eso.provider && matcher.eso.holds(provider.block);
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

function findSelects(provider: StoreProvider, find: Find, matcher: RefMatcher): FindResult {
  const subject = matcher.eso.findSubject(provider.block, find);
  if (subject === undefined) return { selected: false };

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
export function specSelects(spec: ExternalSecretSpec, lookup: StoreLookup, matcher: RefMatcher): Selection {
  const warnings: string[] = [];
  let selected = false;
  const providerFor = (source: SourceRef | undefined): StoreProvider | undefined => {
    if (source?.generatorRef) return undefined;
    const key = storeKey(source?.storeRef) ?? storeKey(spec.secretStoreRef);
    if (!key) return undefined;
    const provider = lookup(key);
    return provider && providerMatches(provider, matcher) ? provider : undefined;
  };
  for (const entry of spec.data ?? []) {
    const provider = providerFor(entry.sourceRef);
    if (!provider || !matcher.eso.keySelects(provider.block, entry.remoteRef.key)) continue;
    selected = true;
    if (entry.remoteRef.version)
      warnings.push(
        `data[${entry.secretKey}] is pinned to version ${entry.remoteRef.version}: a refresh keeps that version`,
      );
  }
  for (const entry of spec.dataFrom ?? []) {
    const provider = providerFor(entry.sourceRef);
    if (!provider) continue;
    if (entry.extract && matcher.eso.keySelects(provider.block, entry.extract.key)) {
      selected = true;
      if (entry.extract.version)
        warnings.push(
          `dataFrom.extract is pinned to version ${entry.extract.version}: a refresh keeps that version`,
        );
    }
    if (entry.find) {
      const r = findSelects(provider, entry.find, matcher);
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
