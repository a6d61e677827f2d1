import { RE2JS } from 're2js';

/**
 * Stakater Reloader's annotation keys (defaults of its flags) and the exact way it parses
 * their values, so a workload annotated for Reloader behaves the same under rotor.
 */

export type ResourceType = 'SECRET' | 'CONFIGMAP' | 'SECRETPROVIDERCLASS';

export const RELOADER = {
  auto: 'reloader.stakater.com/auto',
  search: 'reloader.stakater.com/search',
  match: 'reloader.stakater.com/match',
  ignore: 'reloader.stakater.com/ignore',
  rolloutStrategy: 'reloader.stakater.com/rollout-strategy',
  lastReloadedFrom: 'reloader.stakater.com/last-reloaded-from',
  pausePeriod: 'deployment.reloader.stakater.com/pause-period',
  pausedAt: 'deployment.reloader.stakater.com/paused-at',
} as const;

/** Per resource type: the named-reload list, the typed auto flag and the exclude list. */
export const TYPED: Record<ResourceType, { reload: string; auto: string; exclude: string }> = {
  SECRET: {
    reload: 'secret.reloader.stakater.com/reload',
    auto: 'secret.reloader.stakater.com/auto',
    exclude: 'secrets.exclude.reloader.stakater.com/reload',
  },
  CONFIGMAP: {
    reload: 'configmap.reloader.stakater.com/reload',
    auto: 'configmap.reloader.stakater.com/auto',
    exclude: 'configmaps.exclude.reloader.stakater.com/reload',
  },
  SECRETPROVIDERCLASS: {
    reload: 'secretproviderclass.reloader.stakater.com/reload',
    auto: 'secretproviderclass.reloader.stakater.com/auto',
    exclude: 'secretproviderclasses.exclude.reloader.stakater.com/reload',
  },
};

/**
 * rotor's own bookkeeping where Reloader keeps none: the hashes a template (annotations
 * strategy) or a Rollout (restartAt) was last restarted for, as JSON `{"SECRET/name": hash}`.
 */
export const ROTOR = {
  reloadedHashes: 'rotor.dev/reloaded-hashes',
} as const;

/** CronJob → Job, as `kubectl create job --from=cronjob/...` marks it. */
export const CRONJOB_INSTANTIATE = 'cronjob.kubernetes.io/instantiate';

/** Keys rotor reads from workloads; everything else is dropped from the index to save memory. */
export function isRelevantAnnotation(key: string): boolean {
  return key.includes('reloader.stakater.com/') || key.startsWith('rotor.dev/');
}

/** Go's strconv.ParseBool; anything it rejects (including '') is false, as Reloader ignores the error. */
export function parseGoBool(value: string | undefined): boolean {
  return value !== undefined && ['1', 't', 'T', 'TRUE', 'true', 'True'].includes(value);
}

/** Comma list with each item trimmed (strings.Split + TrimSpace); '' gives [''] like Go. */
export function splitList(value: string): string[] {
  return value.split(',').map((s) => s.trim());
}

/** A compiled reload-list item: Go's `regexp.Regexp.MatchString`. */
export interface NamePattern {
  test(name: string): boolean;
}

export interface CompiledPatterns {
  patterns: NamePattern[];
  /** Items Go's regexp rejects; Reloader panics on them, rotor skips them with a warning. */
  invalid: string[];
}

/** Compiled items by source text: the same few lists are evaluated for every workload and change. */
const compiled = new Map<string, NamePattern | undefined>();
const MAX_CACHED = 1_000;

/**
 * The named-reload list: Reloader compiles each item as `^item$` with Go's regexp, which is
 * RE2. re2js is a port of RE2, so every pattern Go accepts behaves identically (POSIX classes
 * such as `[[:digit:]]`, `\pL`, inline flags `(?i)`, ASCII-only `\d`) and every pattern it
 * rejects (look-around, back-references) is rejected here too. JavaScript's RegExp differs on
 * all of these.
 */
export function compileReloadList(value: string): CompiledPatterns {
  const patterns: NamePattern[] = [];
  const invalid: string[] = [];
  for (const item of splitList(value)) {
    const pattern = compileItem(item);
    if (pattern) patterns.push(pattern);
    else invalid.push(item);
  }
  return { patterns, invalid };
}

function compileItem(item: string): NamePattern | undefined {
  if (compiled.has(item)) return compiled.get(item);
  let pattern: NamePattern | undefined;
  try {
    pattern = RE2JS.compile(`^${item}$`);
  } catch {
    pattern = undefined;
  }
  if (compiled.size >= MAX_CACHED) compiled.clear();
  compiled.set(item, pattern);
  return pattern;
}

export function resourceTypeOf(kind: 'Secret' | 'ConfigMap' | 'SecretProviderClass'): ResourceType {
  if (kind === 'Secret') return 'SECRET';
  if (kind === 'ConfigMap') return 'CONFIGMAP';
  return 'SECRETPROVIDERCLASS';
}
