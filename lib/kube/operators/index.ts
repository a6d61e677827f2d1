import type { AddressAliases } from '../../address.js';
import { matcherFor } from '../../backends/identities.js';
import type { Clock } from '../../clock.js';
import { systemClock } from '../../clock.js';
import type { KeyVaultConfig, VaultConfig } from '../../config.js';
import { mapLimited } from '../../limiter.js';
import type { RefreshResult } from '../../outcome.js';
import type { SecretRef } from '../../secret-ref.js';
import { listingSource, type ObjectSource } from '../api/object-cache.js';
import type { ChangedResource } from '../changed-resource.js';
import type { ClusterClient } from '../cluster.js';
import { workloadsMounting } from './csi.js';
import type { DerivedObject, Operator, RefreshContext, ResolveContext, ResourceReads } from './operator.js';
import { OPERATORS, operatorById } from './registry.js';
import type { SharedWatch } from './shared-watch.js';
import { DEFAULT_VSO_NAMESPACE } from './vso.js';

export type { AddressAliases } from '../../address.js';
export type { DerivedChild, DerivedObject, OperatorId, WorkloadRef } from './operator.js';

export interface ResolveOptions {
  /** Canonical address → other spellings of it seen from clusters (in-cluster service names). */
  aliases?: AddressAliases;
  vaultConfigs?: readonly VaultConfig[];
  /** Key Vaults with a non-default URL (emulators, private endpoints). */
  keyVaultConfigs?: readonly KeyVaultConfig[];
  /** Where VSO runs, for its `default` VaultAuth/VaultConnection (default vault-secrets-operator-system). */
  vsoOperatorNamespace?: string;
  operators?: readonly Operator[];
  /** Namespaced mode: the namespaces rotor may read in this cluster (clusters[].namespaces). */
  namespaces?: readonly string[];
  /** The cluster's object cache (the app's); without it each resolve lists what it reads. */
  objects?: ObjectSource;
  /** Workloads mounting a SecretProviderClass (the app's consumer index); without it, listed. */
  mountedBy?: ResolveContext['mountedBy'];
}

/** Everything in one cluster that derives from the ref, by every registered operator. */
export async function resolveDerived(
  client: ClusterClient,
  ref: SecretRef,
  opts: ResolveOptions = {},
): Promise<DerivedObject[]> {
  const matchOpts = {
    aliases: opts.aliases,
    vaultConfigs: opts.vaultConfigs,
    keyVaultConfigs: opts.keyVaultConfigs,
  };
  const matcher = matcherFor(ref, matchOpts);
  const ctx: ResolveContext = {
    ref,
    matcher,
    vsoOperatorNamespace: opts.vsoOperatorNamespace ?? DEFAULT_VSO_NAMESPACE,
    objects: opts.objects ?? listingSource(client, opts.namespaces),
    mountedBy: opts.mountedBy ?? ((namespace, className) => workloadsMounting(client, namespace, className)),
  };
  const perOperator = await Promise.all((opts.operators ?? OPERATORS).map((o) => o.resolve(client, ctx)));
  return perOperator.flat();
}

export interface RefreshOptions {
  /** Bound on each derived object's force-and-await. */
  timeoutMs: number;
  /** Nothing is patched; every object is reported as what would be done. */
  dryRun?: boolean;
  clock?: Clock;
  /** Field manager of rotor's patches (default "rotor"). */
  fieldManager?: string;
  /** Objects forced at once per cluster (default 8). */
  concurrency?: number;
  /** The restart step's shared reads (RefreshContext.reads). */
  reads?: ResourceReads;
  /** The object cache's watches (RefreshContext.watched). */
  watched?: SharedWatch;
  operators?: readonly Operator[];
}

export interface RefreshDerivedResult {
  results: RefreshResult[];
  /** What the refreshes changed (in a dry run: would change), by each operator's affects(). */
  changed: ChangedResource[];
}

/**
 * What refreshing `derived` changes, asked of its operator: the one answer plan, dry run
 * and real run share. Without results: what a refresh would change; with them: what it did.
 */
export function affectedBy(
  derived: DerivedObject,
  results?: readonly RefreshResult[],
  operators?: readonly Operator[],
): ChangedResource[] {
  return operatorById(derived.operator, operators).affects(derived, results);
}

function notForceable(d: DerivedObject, reason: string): RefreshResult {
  const { cluster, operator, kind, namespace, name } = d;
  return { status: 'not-forceable', cluster, operator, kind, namespace, name, reason, fix: d.fix ?? '' };
}

function dryRunResult(d: DerivedObject): RefreshResult {
  const { cluster, operator, kind, namespace, name } = d;
  if (!d.forceable) return notForceable(d, d.unreadable ?? 'dry run');
  return { status: 'dry-run', cluster, operator, kind, namespace, name, action: actionOf(d) };
}

function actionOf(d: DerivedObject): string {
  if (d.operator === 'csi') return 'restart the workloads that mount it';
  const key = d.kind === 'ClusterExternalSecret' ? 'external-secrets.io/force-sync' : 'force-sync';
  return `annotate ${key}=<unique> and await the sync`;
}

/**
 * Forces each derived object and awaits completion by watch, in parallel, each bounded
 * by `timeoutMs`. Failures are results (with the operator's reason), never throws.
 */
export async function refreshDerived(
  client: ClusterClient,
  derived: readonly DerivedObject[],
  opts: RefreshOptions,
): Promise<RefreshDerivedResult> {
  if (opts.dryRun) {
    return {
      results: derived.map(dryRunResult),
      changed: derived.flatMap((d) => affectedBy(d, undefined, opts.operators)),
    };
  }
  const ctx: RefreshContext = {
    timeoutMs: opts.timeoutMs,
    clock: opts.clock ?? systemClock,
    fieldManager: opts.fieldManager ?? 'rotor',
    ...(opts.reads ? { reads: opts.reads } : {}),
    ...(opts.watched ? { watched: opts.watched } : {}),
  };
  const outputs = await mapLimited(derived, opts.concurrency ?? 8, async (d) => {
    if (d.unreadable) return { result: [notForceable(d, d.unreadable)], changed: [] };
    const { result, syncedAt } = await operatorById(d.operator, opts.operators).refresh(client, d, ctx);
    const changed = affectedBy(d, result, opts.operators).map((c) => {
      const at = syncedAt?.get(`${c.namespace}/${c.name}`);
      return at === undefined ? c : { ...c, syncedAt: at };
    });
    return { result, changed };
  });
  return { results: outputs.flatMap((o) => o.result), changed: outputs.flatMap((o) => o.changed) };
}
