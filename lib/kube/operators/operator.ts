import type { RefMatcher } from '../../backends/identities.js';
import type { Clock } from '../../clock.js';
import { describeError } from '../../errors.js';
import type { RefreshResult } from '../../outcome.js';
import type { SecretRef } from '../../secret-ref.js';
import type { Gvr } from '../api/gvr.js';
import type { ObjectSource } from '../api/object-cache.js';
import type { ChangedResource } from '../changed-resource.js';
import type { ClusterClient } from '../cluster.js';
import type { ResolvedResource } from '../restart/resource-reader.js';
import type { SharedWatch } from './shared-watch.js';

export type OperatorId = 'eso' | 'vso' | 'csi';

export interface WorkloadRef {
  kind: string;
  namespace: string;
  name: string;
}

/** An ExternalSecret a ClusterExternalSecret provisioned; forced through its parent. */
export interface DerivedChild {
  namespace: string;
  name: string;
  targetSecret: string;
}

/** A cluster object whose content derives from the backend secret. */
export interface DerivedObject {
  cluster: string;
  operator: OperatorId;
  kind: string;
  /** '' for cluster-scoped objects (ClusterExternalSecret). */
  namespace: string;
  name: string;
  targetSecret?: string;
  warnings: string[];
  /** False when the operator will ignore a forced refresh; `fix` says what to change. */
  forceable: boolean;
  fix?: string;
  /** Rotor may not read the object itself (namespaced mode, a cluster-scoped kind not granted): reported, never forced. */
  unreadable?: string;
  /** ClusterExternalSecret: the ExternalSecrets it provisioned. */
  children?: DerivedChild[];
  /** SecretProviderClass: the workloads that mount it (their restart is the refresh). */
  mountedBy?: WorkloadRef[];
}

export interface ResolveContext {
  ref: SecretRef;
  matcher: RefMatcher;
  /** Namespace of the VSO deployment, where its `default` VaultAuth/VaultConnection live. */
  vsoOperatorNamespace: string;
  /** The cluster's operator objects: the watch-fed object cache in the app, never a list per event. */
  objects: ObjectSource;
  /** Workloads of a namespace whose pod template mounts the SecretProviderClass (the consumer index in the app). */
  mountedBy(namespace: string, className: string): Promise<WorkloadRef[]>;
}

export interface RefreshContext {
  timeoutMs: number;
  clock: Clock;
  /** Field manager written on every patch, so operators' and rotor's edits stay apart. */
  fieldManager: string;
  /**
   * The restart step's reads of changed resources: a refresh reads its target Secret through
   * them once the operator is done, so the restart reuses that read instead of another GET.
   */
  reads?: ResourceReads;
  /** The object cache's watches: a forced object is followed there when one is open. */
  watched?: SharedWatch;
}

/** Shared reads of changed resources (the restart engine's ResourceReader). */
export interface ResourceReads {
  /** A read started at or after `notBefore` (performance.now()). */
  read(change: ChangedResource, notBefore: number): Promise<ResolvedResource>;
}

export interface RefreshOutput {
  result: RefreshResult[];
  /** When each target Secret (`namespace/name`) was seen synced: ChangedResource.syncedAt. */
  syncedAt?: ReadonlyMap<string, number>;
}

/**
 * One sync operator. resolve() finds what derives from a ref; refresh() forces one
 * derived object and waits, by watching, until the operator has acted on it; affects()
 * is the one answer to "which resources does refreshing it change", which the restart
 * engine then acts on.
 */
export interface Operator {
  readonly id: OperatorId;
  /** The kinds resolve() reads through ResolveContext.objects (warm-up starts following them). */
  readonly reads?: readonly Gvr[];
  resolve(client: ClusterClient, ctx: ResolveContext): Promise<DerivedObject[]>;
  refresh(client: ClusterClient, derived: DerivedObject, ctx: RefreshContext): Promise<RefreshOutput>;
  /**
   * Without `results` (plan, dry run): what a refresh of `derived` would change. With the
   * results of its refresh (a real run): what it did change. Every refreshed target counts,
   * not only those whose data changed during the force: when the operator's own poll got
   * there first the Secret is already new, but its consumers may not have restarted yet
   * (the restart hash makes it a no-op for workloads that are current).
   */
  affects(derived: DerivedObject, results?: readonly RefreshResult[]): ChangedResource[];
}

/** The target Secrets of the refreshes that succeeded: what ESO and VSO changed. */
export function refreshedTargets(cluster: string, results: readonly RefreshResult[]): ChangedResource[] {
  return results.flatMap((r): ChangedResource[] =>
    r.status === 'refreshed' && r.targetSecret
      ? [{ cluster, kind: 'Secret', namespace: r.namespace, name: r.targetSecret }]
      : [],
  );
}

/** A derived object's refresh failed: the error's code, message and retry rule, for the outcome. */
export function refreshFailed(
  operator: OperatorId,
  d: Pick<DerivedObject, 'cluster' | 'kind' | 'namespace' | 'name'>,
  error: unknown,
): RefreshResult {
  return {
    status: 'failed',
    cluster: d.cluster,
    operator,
    kind: d.kind,
    namespace: d.namespace,
    name: d.name,
    error: describeError(error),
  };
}
