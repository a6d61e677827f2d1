import type { ChangeEvent } from './change-event.js';
import { ClaimLostError } from './claim-gate.js';
import type { Clock } from './clock.js';
import { describeError, TimeoutError } from './errors.js';
import { type FollowPort, followRestarts } from './follow-up.js';
import type { ChangedResource } from './kube/changed-resource.js';
import type { Story, StoryContext } from './kube/event-story.js';
import type { ClusterFailure, Outcome, RefreshResult, StepListener, WorkloadResult } from './outcome.js';
import { refKey, type SecretRef } from './secret-ref.js';
import { Timeline } from './timeline.js';

/**
 * The one place that sequences the steps of DESIGN.md's flow:
 *   rotate? → per cluster (in parallel): resolve → force refresh + await → restart
 *   → follow each restart to its end (bounded; the answer does not wait past followWaitMs).
 * Every step is a port so the pipeline reads like the diagram and knows no SDK.
 * A cluster that fails is reported in `clusterFailures` and never blocks the others.
 */
export interface DerivedRef {
  operator: string;
  kind: string;
  namespace: string;
  name: string;
}

export type RotationResult =
  | { status: 'rotated'; newVersion: string }
  | { status: 'skipped'; reason: string }
  /** The last rotation did not reach every consumer: this run refreshes and restarts on `version` instead. */
  | { status: 'finishing'; version: string; detail: string };

/** Released once the run has handed its changes to restart, or gave up before. */
export interface Announcement {
  release(): void;
}

export interface PipelinePorts<D extends DerivedRef = DerivedRef> {
  clusters(): string[];
  /**
   * Before refreshing: tells the cluster's restart step which consumers this run is about
   * to change, so concurrent runs touching the same workload merge their patches instead
   * of waiting a fixed window. Optional; returns undefined when there is nothing to tell.
   */
  announce?(cluster: string, derived: D[]): Announcement | undefined;
  /** `expectedVersion`: the version the event saw; rotation skips when it is no longer current. */
  rotate(
    ref: SecretRef,
    options: { reason: ChangeEvent['kind']; expectedVersion?: string },
  ): Promise<RotationResult>;
  resolve(cluster: string, ref: SecretRef): Promise<D[]>;
  refresh(
    cluster: string,
    derived: D[],
    options: { dryRun: boolean; onForced: () => void; event: ChangeEvent },
  ): Promise<{ results: RefreshResult[]; changed: ChangedResource[] }>;
  restart(
    cluster: string,
    changed: ChangedResource[],
    options: { dryRun: boolean; announcement?: Announcement },
  ): Promise<WorkloadResult[]>;
  /** Follows a restart to rolled-out / rollout-failed (bounded); without it restarts are not followed. */
  follow?: FollowPort;
  /**
   * Tells the objects of one cluster what happened to them (Kubernetes Events on the
   * derived objects and workloads). Best effort: returns at once and never fails the run.
   */
  tell?(cluster: string, story: Story): void;
}

const ROTATING_KINDS = new Set<ChangeEvent['kind']>([
  'near-expiry',
  'expired',
  'rotate-due',
  'rotate-requested',
]);

export interface RunOptions {
  dryRun?: boolean;
  /** Manual refresh: skip rotation even for rotating kinds. */
  skipRotation?: boolean;
  /** A cluster that has not finished by then is reported as unreachable (retryable). */
  clusterDeadlineMs?: number;
  /** How long the run waits for its rollout follow-ups before answering (they go on after). */
  followWaitMs?: number;
  /** The outcome once every follow-up ended, when some were still running at the answer. */
  onFollowUpDone?: (outcome: Outcome) => void;
  /**
   * A run started before its event's claim was decided (lib/run.ts): resolve, the reads
   * and the force go ahead; rotating, restarting, telling and answering wait for this to
   * say true, and the run throws ClaimLostError when it says false.
   */
  claimed?: Promise<boolean>;
  /** Told of each step as it finishes (lib/run-progress.ts records them while the run goes on). */
  steps?: StepListener;
}

export async function runPipeline<D extends DerivedRef>(
  event: ChangeEvent,
  ports: PipelinePorts<D>,
  clock: Clock,
  options: RunOptions = {},
): Promise<Outcome> {
  const dryRun = options.dryRun ?? false;
  const claimed = async (): Promise<void> => {
    if (options.claimed && !(await options.claimed)) throw new ClaimLostError();
  };
  const timeline = new Timeline(event.receivedAt, clock, options.steps);
  const outcome: Outcome = {
    eventId: event.id,
    ref: refKey(event.ref),
    kind: event.kind,
    source: event.source,
    status: 'completed',
    refreshes: [],
    workloads: [],
    clusterFailures: [],
    timeline: timeline.entries,
    dryRun,
  };
  timeline.mark('received');

  if (ROTATING_KINDS.has(event.kind) && !options.skipRotation) {
    await claimed();
    const rotation = dryRun
      ? { status: 'skipped' as const, reason: 'dry run' }
      : await ports.rotate(event.ref, {
          reason: event.kind,
          ...(event.version === undefined ? {} : { expectedVersion: event.version }),
        });
    outcome.rotation = rotationOf(rotation);
    if (rotation.status === 'skipped') {
      timeline.mark('done', `rotation skipped: ${rotation.reason}`);
      outcome.status = 'nothing-to-do';
      return outcome;
    }
    if (rotation.status === 'rotated') timeline.mark('rotated', `version ${rotation.newVersion}`);
  }
  const told: StoryContext = {
    eventId: event.id,
    ref: outcome.ref,
    ...versionOf(outcome.rotation, event),
  };

  const perCluster = await Promise.all(
    ports
      .clusters()
      .map((cluster) =>
        withDeadline(
          runInCluster(cluster, event, ports, timeline, { dryRun, told, claimed }),
          cluster,
          options.clusterDeadlineMs,
        ),
      ),
  );
  for (const r of perCluster) {
    outcome.refreshes.push(...r.refreshes);
    outcome.workloads.push(...r.workloads);
    if (r.failure) outcome.clusterFailures.push(r.failure);
  }
  outcome.status = statusOf(outcome);
  await claimed(); // a cluster that failed before its gate: nothing is reported for a lost claim
  if (ports.follow && !dryRun) {
    const follow = ports.follow;
    const tell = ports.tell?.bind(ports);
    const followAndTell = (cluster: string, workload: WorkloadResult) =>
      follow(cluster, workload).then((rollout) => {
        if (workload.status === 'restarted')
          tell?.(cluster, { ...told, workloads: [{ ...workload, rollout }] });
        return rollout;
      });
    await followRestarts(outcome, followAndTell, {
      waitMs: options.followWaitMs ?? 0,
      elapsedMs: () => timeline.elapsedMs(),
      ...(options.onFollowUpDone ? { onDone: options.onFollowUpDone } : {}),
    });
  }
  timeline.mark('done');
  return outcome;
}

async function runInCluster<D extends DerivedRef>(
  cluster: string,
  event: ChangeEvent,
  ports: PipelinePorts<D>,
  timeline: Timeline,
  { dryRun, told, claimed }: { dryRun: boolean; told: StoryContext; claimed: () => Promise<void> },
): Promise<ClusterRun> {
  let announcement: Announcement | undefined;
  try {
    const derived = await ports.resolve(cluster, event.ref);
    timeline.mark('resolved', `${cluster}: ${derived.length} derived`);
    if (derived.length === 0) return { refreshes: [], workloads: [] };
    announcement = dryRun ? undefined : ports.announce?.(cluster, derived);
    const refreshed = await ports.refresh(cluster, derived, {
      dryRun,
      event,
      onForced: () => timeline.mark('refresh-forced', cluster),
    });
    timeline.steps?.refreshed(refreshed.results);
    timeline.mark('secret-updated', `${cluster}: ${refreshed.changed.length} changed`);
    await claimed();
    const workloads =
      refreshed.changed.length > 0
        ? await ports.restart(cluster, refreshed.changed, {
            dryRun,
            ...(announcement ? { announcement } : {}),
          })
        : [];
    if (!dryRun) ports.tell?.(cluster, { ...told, refreshes: refreshed.results, workloads });
    timeline.steps?.restarted(workloads);
    timeline.mark(
      'workloads-patched',
      `${cluster}: ${workloads.filter((w) => w.status === 'restarted').length}`,
    );
    return { refreshes: refreshed.results, workloads };
  } catch (error) {
    if (error instanceof ClaimLostError) throw error;
    return {
      refreshes: [],
      workloads: [],
      failure: { cluster, error: describeError(error) },
    };
  } finally {
    announcement?.release();
  }
}

function rotationOf(r: RotationResult): NonNullable<Outcome['rotation']> {
  if (r.status === 'rotated') return { newVersion: r.newVersion };
  return r.status === 'finishing' ? { finishing: r.version, detail: r.detail } : { skipped: r.reason };
}

/** The version consumers move to: the one rotor wrote (or finishes rolling out), else the one the event named. */
function versionOf(rotation: Outcome['rotation'], event: ChangeEvent): { version?: string } {
  if (rotation && 'newVersion' in rotation) return { version: rotation.newVersion };
  if (rotation && 'finishing' in rotation) return { version: rotation.finishing };
  return event.version === undefined ? {} : { version: event.version };
}

type ClusterRun = { refreshes: RefreshResult[]; workloads: WorkloadResult[]; failure?: ClusterFailure };

/** A hung API server (packets dropped) must not hold the event past the sender's timeout. */
async function withDeadline(
  work: Promise<ClusterRun>,
  cluster: string,
  ms: number | undefined,
): Promise<ClusterRun> {
  if (ms === undefined) return work;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<ClusterRun>((resolve) => {
    timer = setTimeout(
      () =>
        resolve({
          refreshes: [],
          workloads: [],
          failure: {
            cluster,
            error: describeError(new TimeoutError(`cluster ${cluster} did not finish within ${ms} ms`)),
          },
        }),
      ms,
    );
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

function statusOf(outcome: Outcome): Outcome['status'] {
  const failures =
    outcome.clusterFailures.length +
    outcome.refreshes.filter((r) => r.status === 'failed').length +
    outcome.workloads.filter((w) => w.status === 'failed').length;
  const successes =
    outcome.refreshes.filter((r) => r.status !== 'failed').length +
    outcome.workloads.filter((w) => w.status !== 'failed').length;
  if (failures === 0) return successes === 0 && !outcome.rotation ? 'nothing-to-do' : 'completed';
  return successes > 0 || outcome.rotation ? 'partial' : 'failed';
}
