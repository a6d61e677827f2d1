import type { Clock } from '../../../clock.js';
import type { ClusterClient } from '../../cluster.js';
import type { Strategy } from '../strategies/index.js';
import type { ReloadTarget, TemplateView } from '../target.js';

export type WorkloadKindName = 'Deployment' | 'StatefulSet' | 'DaemonSet' | 'CronJob' | 'Job' | 'Rollout';

/** The few fields rotor reads from any workload; typed models and raw watch JSON both fit. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    generation?: number;
    annotations?: Record<string, string> | null;
    labels?: Record<string, string> | null;
    [key: string]: unknown;
  } | null;
  // biome-ignore lint/suspicious/noExplicitAny: workload specs differ per kind; each kind file narrows what it reads.
  spec?: any;
  // biome-ignore lint/suspicious/noExplicitAny: as above, for status.
  status?: any;
}

export interface ListPage {
  items: KubeObject[];
  resourceVersion: string;
  continue?: string;
}

export interface KindContext {
  client: ClusterClient;
  strategy: Strategy;
  clock: Clock;
  dryRun: boolean;
}

export type KindOutcome =
  | { status: 'already-current' }
  | { status: 'restarted'; written: ReloadTarget[]; generation?: number; object?: KubeObject }
  | { status: 'skipped'; reason: string };

/**
 * One workload kind: how to list/watch it for the index, read it, find its pod template,
 * and restart it the way Reloader does for that kind. A 409 from `restart` means the
 * object changed since it was read: the engine re-reads and calls again.
 */
export interface WorkloadKind {
  readonly kind: WorkloadKindName;
  /** Collection path across namespaces, for list and watch. */
  readonly path: string;
  list(client: ClusterClient, page: { limit: number; continue?: string }): Promise<ListPage>;
  get(client: ClusterClient, namespace: string, name: string): Promise<KubeObject>;
  template(obj: KubeObject): TemplateView | undefined;
  /**
   * When present, the index keeps this reduced copy and the engine acts on it without a
   * read (restart needs nothing else from the object); kinds whose restart copies the
   * whole object (CronJob, Job, Rollout) leave it out and are read fresh.
   */
  slim?(obj: KubeObject): KubeObject;
  restart(ctx: KindContext, obj: KubeObject, targets: readonly ReloadTarget[]): Promise<KindOutcome>;
  /** True once the controller has seen `generation` (for the bounded rollout wait). */
  observed?(obj: KubeObject, generation: number): boolean;
}

export const FIELD_MANAGER = 'rotor';

export function nameOf(obj: KubeObject): { namespace: string; name: string } {
  return { namespace: obj.metadata?.namespace ?? '', name: obj.metadata?.name ?? '' };
}

export function asObject(value: unknown): KubeObject {
  return value as KubeObject;
}

export function pageOf(list: {
  items?: unknown[];
  metadata?: { resourceVersion?: string; _continue?: string; continue?: string };
}): ListPage {
  return {
    items: (list.items ?? []) as KubeObject[],
    resourceVersion: list.metadata?.resourceVersion ?? '',
    continue: list.metadata?._continue ?? list.metadata?.continue ?? undefined,
  };
}
