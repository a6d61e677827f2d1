import { randomUUID } from 'node:crypto';
import { systemTimers, unref } from '../clock.js';
import { describeError } from '../errors.js';
import type { FollowPort } from '../follow-up.js';
import type { Outcome, Settled, UndoRecord, WorkloadResult } from '../outcome.js';
import { refKey, type SecretRef } from '../secret-ref.js';
import type { FollowedWorkload, StoredVerification } from '../state/verifications.js';
import type { FinishRollout, RotateOptions, RotationResult } from './gate.js';
import {
  failedRollouts,
  finishedIn,
  followAgain,
  followedWorkloads,
  notReached,
  restartedFirstByAnother,
  rolloutsOf,
  rotatedIn,
  rotationRecord,
  stillFollowing,
  withRollouts,
} from './verification.js';
import { finishingNow, finishOrWait, rollingRecord } from './verification-finish.js';
import { VerificationLedger } from './verification-ledger.js';
import { recordResumed } from './verification-report.js';
import { concludeFailed, concludeIfNotReached, concludeNotReached } from './verification-undo.js';
import type { VerifiedRotationDeps } from './verified-deps.js';

/**
 * Rotation, safe to undo (issue 16.4). Around the rotation engine:
 * - every rotation stays unsettled until its consumers' rollouts have ended; while one is,
 *   the secret is not rotated again (`awaiting-rollout`): a dual-role generator would change
 *   the password of the role the consumers may still run on, i.e. revoke the previous
 *   credential before every consumer rolled out on the new one; when the new version did
 *   not reach every consumer, a retry finishes that rollout instead (verification-finish.ts);
 * - when a rollout fails, rotor alerts and, when the policy asked for verification
 *   (`rotor-verify: rollout`), configuration allows it (`rotation.undo`) and the previous
 *   credential is still valid, writes the previous version's value back as the current
 *   version and reruns refresh and restart on it;
 * - whoever restarted the consumers: those a concurrent run restarted first (already-current
 *   in the run that rotated) are followed as well (followAdopted).
 * The unsettled rotation is a record in the state store (versions and workloads, never a
 * value), so it outlives the process: resume() (at start and on every timer tick) takes over
 * the records whose follower's deadline passed, follows their rollouts again and settles
 * them. Every write is conditional on the record's ETag: of two instances, one acts.
 */
export class VerifiedRotation {
  private readonly ledger: VerificationLedger;
  /** A run's answer being recorded: its settle waits for it. */
  private readonly tracking = new Map<string, Promise<void>>();
  private readonly owner: string;
  private resumeTimer: { at: number; handle: unknown } | undefined;

  constructor(private readonly deps: VerifiedRotationDeps) {
    this.owner = deps.owner ?? `rotor-${randomUUID()}`;
    this.ledger = new VerificationLedger(deps.store, deps.clock, deps.log);
  }

  readonly rotate = async (
    ref: SecretRef,
    options: RotateOptions,
  ): Promise<RotationResult | FinishRollout> => {
    const key = refKey(ref);
    const waiting = await this.ledger.read(key);
    const nowMs = this.deps.clock.now().getTime();
    const { owner, bounds } = { owner: this.owner, bounds: this.deps.bounds };
    if (waiting) return finishOrWait(this.ledger, key, waiting, { owner, boundMs: bounds.rotationMs, nowMs });
    const before = await this.deps.backends
      .get(ref)
      .readMetadata(ref)
      .catch(() => undefined);
    const result = await this.deps.rotate(ref, options);
    if (result.status !== 'rotated' || !before || result.previousVersion !== before.version) return result;
    const record = rotationRecord(
      ref,
      before,
      result.newVersion,
      this.deps.config.rotation.defaultValidityDays,
      {
        owner,
        rotatedAt: new Date(nowMs).toISOString(),
        deadline: this.ledger.after(bounds.rotationMs),
      },
    );
    if (record) await this.ledger.create(record);
    return result;
  };

  /** resume() without waiting for the rollouts it follows (the timer's run, the host's start). */
  readonly resumeInBackground = async (): Promise<void> => {
    void this.resume();
  };

  /**
   * The run that rotated (or a retry finishing its rollout) answered with rollouts still
   * followed: the record names them now. A retry's record that reached every consumer is
   * rolling again, so a take-over follows them all if this instance stops.
   */
  track(outcome: Outcome): Promise<void> {
    const key = outcome.ref;
    const s = this.ledger.get(key);
    const version = rotatedIn(outcome) ?? finishedIn(outcome);
    if (!s || !this.ledger.follows(key) || s.record.newVersion !== version) return Promise.resolve();
    const patch = {
      eventId: outcome.eventId,
      source: outcome.source,
      workloads: followedWorkloads(outcome.workloads),
      deadline: this.ledger.after(this.deps.bounds.followMs),
    };
    const unreached = notReached(outcome).join('; ');
    const next = unreached ? { ...s.record, ...patch, unreached } : rollingRecord(s.record, patch);
    const recorded = this.ledger.save(key, s, next).then(() => undefined);
    this.tracking.set(key, recorded);
    return recorded.finally(() => this.tracking.delete(key));
  }

  /**
   * The run's final outcome (every rollout ended). Returns it with the undo record when a
   * rollout of the rotation this instance made failed; when a concurrent run restarted some
   * consumers first, an answer now and the verdict on their rollouts later (followAdopted).
   */
  async settle(outcome: Outcome): Promise<Settled> {
    const key = outcome.ref;
    await this.tracking.get(key);
    const s = this.ledger.get(key);
    if (!s) return outcome;
    const ended = rolloutsOf(outcome.workloads);
    if (ended.some((r) => r.status === 'following')) return outcome;
    const version = rotatedIn(outcome) ?? finishedIn(outcome);
    if (s.record.newVersion !== version) {
      // A later run of the secret (a refresh after a fix) rolled every consumer out: a rotation
      // nobody follows any more (failed, not undone) is settled. A rolling one is not: its
      // follower decides, and this run may be the concurrent one of its own write, on any
      // instance; nor is one a retry is finishing (that run decides), nor by a run that again
      // did not reach every consumer.
      const healthy = ended.length > 0 && ended.every((r) => r.status === 'rolled-out');
      const settles = healthy && notReached(outcome).length === 0 && s.record.state === 'failed';
      if (!version && settles && !finishingNow(s.record, this.deps.clock.now().getTime()))
        await this.ledger.drop(key, s);
      return outcome;
    }
    if (!this.ledger.follows(key)) return outcome; // another instance took it over
    const failed = failedRollouts(outcome.workloads);
    if (failed.length > 0) return { ...outcome, undo: await this.conclude(key, failed, outcome.eventId) };
    if (await concludeIfNotReached({ ledger: this.ledger, log: this.deps.log }, key, s, outcome))
      return outcome;
    const adopted = restartedFirstByAnother(outcome.workloads);
    const follow = this.deps.follow;
    if (adopted.length > 0 && follow) return this.followAdopted(key, s, outcome, { adopted, follow });
    await this.ledger.drop(key, s);
    return outcome;
  }

  /**
   * The gap this closes: a concurrent run (rotor's own write coming back as a change event
   * through OpenBao's audit device or Event Grid) restarted consumers before the run that
   * rotated reached them, so they are already-current here. Whoever restarted them, their
   * rollouts decide this rotation: the record names them (a take-over follows them if this
   * instance stops), and they are followed read-only, the workload's current generation (the
   * other run's restart) to its end, after the answer. The run that rotated decides, not the
   * concurrent one: only it holds the record, so the undo stays exactly once.
   */
  private async followAdopted(
    key: string,
    s: StoredVerification,
    outcome: Outcome,
    { adopted, follow }: { adopted: FollowedWorkload[]; follow: FollowPort },
  ): Promise<Settled> {
    const saved = await this.ledger.save(
      key,
      s,
      rollingRecord(s.record, {
        eventId: outcome.eventId,
        source: outcome.source,
        workloads: followedWorkloads(outcome.workloads),
        deadline: this.ledger.after(this.deps.bounds.followMs),
      }),
    );
    if (!saved) return outcome; // another instance took it over meanwhile: it settles it
    const final = this.verifyAgain(key, saved, follow, adopted, outcome.eventId).then(
      ({ followed, undo }) => ({
        ...withRollouts(outcome, followed),
        ...(undo ? { undo } : {}),
      }),
    );
    return { answer: withRollouts(outcome, stillFollowing(adopted)), final };
  }

  /**
   * Takes over every rolling record whose follower's deadline passed (its instance stopped):
   * follows its rollouts again and settles it. Resolves when those are settled; a record
   * whose deadline is still ahead is looked at again then (a timer of this process).
   */
  async resume(): Promise<void> {
    let all: StoredVerification[];
    try {
      all = await this.ledger.list();
    } catch (error) {
      const message = describeError(error).message;
      this.deps.log.warn('verified rotations: the state store could not be read', { error: message });
      return;
    }
    const now = this.deps.clock.now().getTime();
    const work: Promise<void>[] = [];
    let next: number | undefined;
    for (const s of all) {
      const key = refKey(s.record.ref);
      if (s.record.state !== 'rolling' || this.ledger.follows(key)) continue;
      const deadline = Date.parse(s.record.deadline);
      if (deadline > now) next = Math.min(next ?? deadline, deadline);
      else work.push(this.takeOver(key, s));
    }
    if (next !== undefined) this.resumeAt(next);
    await Promise.all(work);
  }

  private async takeOver(key: string, s: StoredVerification): Promise<void> {
    const deadline = this.ledger.after(this.deps.bounds.followMs);
    const claimed = await this.ledger.claim(key, s, { ...s.record, owner: this.owner, deadline });
    if (!claimed) return; // another instance took it over first, or the store did not answer
    this.ledger.follow(key);
    const { record } = claimed;
    const log = { ref: key, version: record.newVersion, eventId: record.eventId };
    const follow = this.deps.follow;
    if (record.workloads.length === 0 || !follow) {
      const reason =
        'rotor stopped before the run that rotated recorded whom it restarted: not verified; the secret is not rotated again until a refresh rolls every consumer out';
      await this.ledger.save(key, claimed, { ...record, state: 'failed', reason });
      this.ledger.unfollow(key);
      this.deps.log.error('a verified rotation could not be verified', { ...log, reason });
      return;
    }
    this.deps.log.info('verified rotation: following the rollouts of a stopped instance', {
      ...log,
      workloads: record.workloads.length,
    });
    const { followed, undo } = await this.verifyAgain(key, claimed, follow, record.workloads, record.eventId);
    await recordResumed(this.deps.runs, record, followed, undo, this.deps.log);
  }

  /** Follows recorded rollouts (one that already ended is judged at once), then settles: drop, or undo. */
  private async verifyAgain(
    key: string,
    s: StoredVerification,
    follow: FollowPort,
    workloads: readonly FollowedWorkload[],
    eventId: string | undefined,
  ): Promise<{ followed: WorkloadResult[]; undo?: UndoRecord }> {
    const followed = await followAgain(follow, workloads);
    const failed = failedRollouts(followed);
    if (failed.length > 0)
      return { followed, undo: await this.conclude(key, failed, eventId ?? `verify-${key}`) };
    const current = this.ledger.get(key) ?? s;
    // The run's answer said some consumers were not reached: not verified by the others.
    const { unreached } = current.record;
    if (unreached)
      await concludeNotReached({ ledger: this.ledger, log: this.deps.log }, key, current, unreached);
    else await this.ledger.drop(key, current);
    return { followed };
  }

  /** A rollout failed: undo where allowed and possible, alert either way (verification-undo.ts). */
  private conclude(key: string, failed: string[], eventId: string): Promise<UndoRecord> {
    const { backends, rerun, log, config, bounds } = this.deps;
    const deps = { ledger: this.ledger, backends, rerun, log, owner: this.owner, followMs: bounds.followMs };
    return concludeFailed({ ...deps, undoAllowed: config.rotation.undo }, key, failed, eventId);
  }

  /** One timer for the earliest deadline ahead; it keeps no process alive. */
  private resumeAt(at: number): void {
    if (this.resumeTimer && this.resumeTimer.at <= at) return;
    const timers = this.deps.timers ?? systemTimers;
    if (this.resumeTimer) timers.clear(this.resumeTimer.handle);
    const delay = Math.max(0, at - this.deps.clock.now().getTime()) + 1_000;
    const handle = timers.set(() => {
      this.resumeTimer = undefined;
      void this.resume();
    }, delay);
    unref(handle);
    this.resumeTimer = { at, handle };
  }
}
