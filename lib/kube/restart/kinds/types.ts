import type { Clock } from '../../../clock.js';
import type { Gvr } from '../../api/gvr.js';
import type { KubeObject } from '../../api/objects.js';
import type { ClusterClient } from '../../cluster.js';
import type { Strategy } from '../strategies/index.js';
import type { ReloadTarget, TemplateView } from '../target.js';

export type WorkloadKindName = 'Deployment' | 'StatefulSet' | 'DaemonSet' | 'CronJob' | 'Job' | 'Rollout';

export interface KindContext {
  client: ClusterClient;
  strategy: Strategy;
  clock: Clock;
  dryRun: boolean;
}

export type KindOutcome =
  /** `follow`: a CronJob whose Job for these hashes exists already (another run created it). */
  | { status: 'already-current'; follow?: { kind: 'Job'; name: string } }
  | {
      status: 'restarted';
      written: ReloadTarget[];
      generation?: number;
      object?: KubeObject;
      /** What rolls out instead of the workload itself: the Job created for a CronJob. */
      follow?: { kind: 'Job'; name: string };
    }
  | { status: 'skipped'; reason: string };

/**
 * One workload kind: how to list/watch it for the index, read it, find its pod template,
 * and restart it the way Reloader does for that kind. A 409 (or GuardRefusedError) from
 * `restart` means the object changed since it was read: the engine decides and calls again.
 */
export interface WorkloadKind {
  readonly kind: WorkloadKindName;
  /** What the consumer index lists and watches (informer.ts), across namespaces or in each configured one. */
  readonly gvr: Gvr;
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
