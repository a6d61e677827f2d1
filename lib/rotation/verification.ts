import type { Backend, SecretSnapshot } from '../backends/backend.js';
import { describeError } from '../errors.js';
import type { FollowPort } from '../follow-up.js';
import {
  type Outcome,
  type RolloutReport,
  type RolloutResult,
  rolloutOf,
  type WorkloadResult,
} from '../outcome.js';
import type { SecretRef } from '../secret-ref.js';
import type { FollowedWorkload, VerificationRecord } from '../state/verifications.js';
import { parsePolicy } from './policy.js';

/** What a verified rotation reads from outcomes and records (lib/rotation/verified.ts); pure. */

type Restarted = Extract<WorkloadResult, { status: 'restarted' }>;

/**
 * The record of a rotation just written over `before` (rolling, no workloads yet: the run
 * names them when it answers); undefined when `before` carries no valid policy.
 */
export function rotationRecord(
  ref: SecretRef,
  before: SecretSnapshot,
  newVersion: string,
  defaultValidityDays: number,
  who: Pick<VerificationRecord, 'owner' | 'rotatedAt' | 'deadline'>,
): VerificationRecord | undefined {
  const policy = parsePolicy(before.metadata, defaultValidityDays);
  if (policy.kind !== 'policy') return undefined;
  const g = policy.policy.generator;
  return {
    ref,
    newVersion,
    previousVersion: before.version ?? '',
    verify: policy.policy.verify === 'rollout',
    generator: { kind: g.kind, ...('mode' in g && g.mode ? { mode: g.mode } : {}) },
    state: 'rolling',
    workloads: [],
    ...who,
  };
}

/** The version a run's own rotation wrote, if it rotated. */
export function rotatedIn(outcome: Outcome): string | undefined {
  return outcome.rotation && 'newVersion' in outcome.rotation ? outcome.rotation.newVersion : undefined;
}

/** The version a retry's run finished rolling out (verification-finish.ts), if it did. */
export function finishedIn(outcome: Outcome): string | undefined {
  return outcome.rotation && 'finishing' in outcome.rotation ? outcome.rotation.finishing : undefined;
}

/** The rollout reports of the run's restarts. */
export function rolloutsOf(workloads: readonly WorkloadResult[]): RolloutReport[] {
  return workloads.flatMap((w) => (w.status === 'restarted' && w.rollout ? [w.rollout] : []));
}

/** cluster/kind/namespace/name of each restart (or followed already-current workload) whose rollout failed. */
export function failedRollouts(workloads: readonly WorkloadResult[]): string[] {
  return workloads.flatMap((w) => (rolloutOf(w)?.status === 'rollout-failed' ? [idOf(w)] : []));
}

/**
 * The rollouts a record keeps, so another instance can follow them (no hashes, no values):
 * the run's restarts, and the workloads another run restarted first (already-current). Those
 * have no generation: the follower takes the workload's current one, the other run's restart
 * (a CronJob's: the Job that run created).
 */
export function followedWorkloads(workloads: readonly WorkloadResult[]): FollowedWorkload[] {
  return workloads.flatMap((w): FollowedWorkload[] => {
    const { cluster, kind, namespace, name } = w;
    if (w.status === 'already-current')
      return [{ cluster, kind, namespace, name, ...(w.job === undefined ? {} : { job: w.job }) }];
    if (w.status !== 'restarted') return [];
    return [
      {
        cluster,
        kind,
        namespace,
        name,
        ...(w.generation === undefined ? {} : { generation: w.generation }),
        ...(w.job === undefined ? {} : { job: w.job }),
      },
    ];
  });
}

/** The workloads another run restarted first: their rollouts are the rotation's all the same. */
export function restartedFirstByAnother(workloads: readonly WorkloadResult[]): FollowedWorkload[] {
  return followedWorkloads(workloads.filter((w) => w.status === 'already-current'));
}

/** The outcome with the rollouts followed for its workloads (restarted or already-current), matched by id. */
export function withRollouts(outcome: Outcome, followed: readonly WorkloadResult[]): Outcome {
  const byId = new Map(followed.map((w) => [idOf(w), rolloutOf(w)]));
  const workloads = outcome.workloads.map((w): WorkloadResult => {
    const rollout = byId.get(idOf(w));
    return rollout && (w.status === 'restarted' || w.status === 'already-current') ? { ...w, rollout } : w;
  });
  return { ...outcome, workloads };
}

/** Each recorded workload with its rollout still `following`. */
export function stillFollowing(workloads: readonly FollowedWorkload[]): Restarted[] {
  return workloads.map((w) => ({ ...asRestarted(w), rollout: { status: 'following' } }));
}

/**
 * What kept the new version from some consumers: a cluster whose part failed, an operator that
 * could not sync it, a restart that failed. Those consumers are not on it, so the rotation
 * cannot be verified by their rollouts. (Refreshes rotor cannot force and workloads skipped by
 * their annotations are configuration, not failures.)
 */
export function notReached(outcome: Outcome): string[] {
  return [
    ...outcome.clusterFailures.map((c) => `cluster ${c.cluster}: ${c.error.message}`),
    ...outcome.refreshes.flatMap((r) => (r.status === 'failed' ? [`${idOf(r)}: ${r.error.message}`] : [])),
    ...outcome.workloads.flatMap((w) => (w.status === 'failed' ? [`${idOf(w)}: ${w.error.message}`] : [])),
  ];
}

/** cluster/kind/namespace/name: how workloads are told apart in records and alerts. */
export function idOf(w: { cluster: string; kind: string; namespace: string; name: string }): string {
  return `${w.cluster}/${w.kind}/${w.namespace}/${w.name}`;
}

/** A recorded restart as the rollout follower takes it. */
export function asRestarted(w: FollowedWorkload): Restarted {
  return { status: 'restarted', hashes: [], ...w };
}

/**
 * Follows each recorded restart again (a rollout that already ended is judged at once). rotor
 * did not see these rollouts start (another run's restart, or a take-over's): their time is
 * labelled as how long they were followed (`since: 'followed'`), not as how long they took.
 */
export async function followAgain(
  follow: FollowPort,
  workloads: readonly FollowedWorkload[],
): Promise<Restarted[]> {
  return Promise.all(
    workloads.map(async (w) => {
      const rollout = await follow(w.cluster, asRestarted(w)).catch(
        (error): RolloutResult => ({ status: 'not-followed', reason: describeError(error).message }),
      );
      return {
        ...asRestarted(w),
        rollout: rollout.status === 'not-followed' ? rollout : { ...rollout, since: 'followed' },
      };
    }),
  );
}

/** Why the previous credential cannot be restored, or undefined when it can. */
export function whyNotRestorable(record: VerificationRecord, undoAllowed: boolean): string | undefined {
  if (!record.verify) return 'the policy does not ask for verification (rotor-verify: rollout)';
  if (!undoAllowed) return 'rotation.undo is off: rotor only alerts';
  if (record.generator.kind === 'postgres' && record.generator.mode !== 'dual') {
    return "single-role PostgreSQL: the previous password was replaced at the database; use mode 'dual'";
  }
  if (!record.previousVersion) return 'the previous version has no id to read it back by';
  return undefined;
}

/**
 * Writes the previous version's value back as a new current version, conditional on the
 * rotated version still being current (a ConflictError when anyone wrote since). The value
 * is read by version id from the store itself: the record never holds it.
 */
export async function restorePrevious(
  backend: Pick<Backend, 'read' | 'write'>,
  record: VerificationRecord,
): Promise<{ version: string }> {
  const previous = await backend.read(record.ref, record.previousVersion);
  return backend.write(record.ref, {
    value: previous.value,
    expectedVersion: record.newVersion,
    metadata: previous.metadata,
    ...(previous.contentType ? { contentType: previous.contentType } : {}),
    ...(previous.notBefore ? { notBefore: previous.notBefore } : {}),
    ...(previous.expiresOn ? { expiresOn: previous.expiresOn } : {}),
  });
}

/** Refreshes and restarts on a restored version; returns the event id it runs under. */
export type Rerun = (ref: SecretRef, version: string, eventId: string) => string;
