import { type ChangeEvent, changeKey, eventKey, type IgnoredEvent, manualEvent } from './change-event.js';
import { type ClaimGate, ClaimLostError, unlessLost } from './claim-gate.js';
import type { Clock, Timers } from './clock.js';
import { Drain, type DrainReport } from './drain.js';
import { TransientError } from './errors.js';
import { createLimiter, type GaugedLimiter } from './limiter.js';
import type { Outcome, Settled } from './outcome.js';
import { type DerivedRef, type PipelinePorts, runPipeline } from './pipeline.js';
import { Prefetch } from './prefetch.js';
import { duplicateOutcome, RecentKeys, retryableFailures } from './redelivery.js';
import { ProgressRecorder } from './run-progress.js';
import type { RunnerSettings } from './run-settings.js';
import { refKey, type SecretRef } from './secret-ref.js';
import { SharedRuns } from './shared-runs.js';
import { LiveClaims } from './state/held-claim.js';
import { type IdempotencyStore, withIdempotency } from './state/idempotency.js';
import { eventAttributes, type Telemetry } from './telemetry.js';

export interface RunnerDeps<D extends DerivedRef = DerivedRef> {
  ports: PipelinePorts<D>;
  idempotency: IdempotencyStore;
  clock: Clock;
  telemetry: Pick<
    Telemetry,
    'log' | 'span' | 'eventReceived' | 'eventIgnored' | 'recordOutcome' | 'recordRollouts'
  >;
  /** Sends the outcome's notifications; failures are the notifier's to log, never thrown. */
  notify: (outcome: Outcome) => Promise<void>;
  /** Called with every finished outcome, duplicates included (the demo and tests watch runs this way). */
  onOutcome?: (outcome: Outcome) => void;
  /** Called with the final outcome of a run whose rollout follow-ups ended after it answered. */
  onFollowUp?: (outcome: Outcome) => void;
  /** Each run's outcome once its rollouts ended, before it is recorded (lib/rotation/verified.ts); never rejects. */
  settle?: (outcome: Outcome) => Promise<Settled>;
  /** A run answering with rollouts still followed, before the answer (a verified rotation records them); never rejects. */
  answering?: (outcome: Outcome) => Promise<void>;
  settings: RunnerSettings;
  /** Who claims events (recorded for `rotor status`); default: host name and process id. */
  claimant?: string | undefined;
  /** The timer of progress writes (lib/run-progress.ts); tests move time. */
  timers?: Timers;
}

export interface ProcessOptions {
  /** Manual refresh: no rotation, even for a kind that rotates. */
  skipRotation?: boolean;
}

type RunOptions<D extends DerivedRef> = ProcessOptions & {
  prefetch?: Prefetch<D>;
  /** The event's claim: true once won (at once when the run starts after it), false when lost. */
  claimed: Promise<boolean>;
};

/**
 * Runs events through the pipeline with the guarantees a sender relies on:
 * - exactly once per `source:id` (redeliveries answer 'duplicate' with the first outcome).
 *   A run that can start at once starts while its claim is written, so the state store's
 *   round trip is off the critical path: until the claim is won it only reads and forces
 *   the operators to sync, which is idempotent (a force that finds nothing new changes no
 *   Secret and restarts nothing; one that does is restarted for by that change's own
 *   event), and a lost claim stops it at its gate (lib/claim-gate.ts) before any rotation,
 *   restart, Event, notification or answer;
 * - events naming the same secret version while a run for it is in flight share that run;
 * - a run that could not reach a cluster is recorded as not done and thrown as a
 *   TransientError, so the sender delivers it again;
 * - every finished outcome is recorded, logged, notified (not for dry runs) and reported.
 */
export class Runner<D extends DerivedRef = DerivedRef> {
  private readonly shared = new SharedRuns<Outcome>();
  /** Events this instance is processing, and those it finished lately: neither is run speculatively. */
  private readonly processing = new Set<string>();
  private readonly finished = new RecentKeys();
  /** Rollout follow-ups still running when their run answered, by that run's outcome. */
  private readonly followUps = new WeakMap<Outcome, Promise<Outcome>>();
  private readonly queue: GaugedLimiter;
  /** The claims this process holds, and the runs in flight: what a shutdown drains. */
  private readonly claims = new LiveClaims();
  private readonly drainer = new Drain(this.claims);

  constructor(private readonly deps: RunnerDeps<D>) {
    const { concurrency, queueLimit } = deps.settings;
    this.queue = createLimiter(concurrency, {
      maxQueued: queueLimit,
      onFull: (queued) =>
        new TransientError(`rotor is busy (${concurrency} runs, ${queued} waiting); deliver the event again`),
    });
  }

  /** One event, end to end, exactly once per `source:id`; refused (retryable) while shutting down. */
  process(event: ChangeEvent, options: ProcessOptions = {}): Promise<Outcome> {
    return this.drainer.run(() => this.processNow(event, options));
  }

  /** Shutdown: no new events; runs in flight get `graceMs`, the claims of the rest are given back (Drain). */
  async drain(graceMs: number): Promise<DrainReport> {
    const report = await this.drainer.drain(graceMs);
    const log = this.deps.telemetry.log;
    if (report.released.length > 0)
      log.warn('shutdown: runs given back to be delivered again', { ...report });
    else log.info('shutdown: every run in flight finished', { ...report });
    return report;
  }

  private async processNow(event: ChangeEvent, options: ProcessOptions): Promise<Outcome> {
    const { telemetry, idempotency, clock, settings } = this.deps;
    telemetry.eventReceived(event.source, event.kind);
    const key = eventKey(event.source, event.id);
    // Resolving only reads: it runs while the claim is written, off the critical path.
    const prefetch = new Prefetch(this.deps.ports, event, { announce: !settings.dryRun });
    // Speculative (the class comment says why it is safe): the run starts beside the claim.
    // Not for a redelivery this instance finished lately or is processing, and not under
    // load (no idle place in the queue): a flood of redeliveries never takes new work's places.
    const speculative = !this.processing.has(key) && !this.finished.has(key) && this.queue.idle();
    this.processing.add(key);
    const result = await withIdempotency(
      idempotency,
      key,
      (claimed) =>
        this.runOrThrowTransient(event, { ...options, prefetch, claimed }).finally(() => prefetch.release()),
      {
        inProgressExpiryMs: settings.inProgressExpiryMs,
        clock,
        claims: this.claims,
        claimant: this.deps.claimant,
        speculative,
      },
    ).finally(() => {
      this.processing.delete(key);
      if (!speculative) prefetch.release(); // a run releases it when it stops
    });
    this.finished.add(key);
    if (result.status === 'duplicate') {
      telemetry.log.info('duplicate delivery: already processed', {
        eventId: event.id,
        source: event.source,
      });
      const duplicate = duplicateOutcome(event, result.previous);
      this.deps.onOutcome?.(duplicate);
      return duplicate;
    }
    const outcome = await this.finish(result.value);
    // After the record is completed: the follow-up's result replaces it when it ends.
    this.followUps.get(result.value)?.then((final) => this.finishFollowUp(key, result.value, final));
    return outcome;
  }

  /** What a run would do, with nothing written and nothing recorded as done. */
  async dryRun(event: ChangeEvent): Promise<Outcome> {
    return this.finish(await this.queue(() => this.run(event, { dryRun: true })));
  }

  /** Manual rotation: write a new version now, then refresh and restart. */
  rotate(ref: SecretRef, options: { requestId?: string; dryRun?: boolean } = {}): Promise<Outcome> {
    const event = manualEvent(ref, 'rotate-requested', this.deps.clock, options.requestId);
    return options.dryRun ? this.dryRun(event) : this.process(event);
  }

  /** Manual refresh: force derived objects to sync and restart consumers, no rotation. */
  refresh(ref: SecretRef, options: { requestId?: string; dryRun?: boolean } = {}): Promise<Outcome> {
    const event = manualEvent(ref, 'changed', this.deps.clock, options.requestId);
    return options.dryRun ? this.dryRun(event) : this.process(event, { skipRotation: true });
  }

  /** Records that an event was received and deliberately ignored (logged, counted). */
  ignore(event: IgnoredEvent, source: ChangeEvent['source']): void {
    this.deps.telemetry.eventIgnored(source, event.reason);
    this.deps.telemetry.log.info('event ignored', { eventId: event.id, source, reason: event.reason });
  }

  private async runOrThrowTransient(event: ChangeEvent, options: RunOptions<D>): Promise<Outcome> {
    const outcome = await this.runShared(event, options);
    // A shared run may go on for another event's claim: this one's own decides here.
    if (!(await options.claimed)) throw new ClaimLostError();
    const transient = retryableFailures(outcome);
    if (transient.length === 0) return outcome;
    // Nothing is recorded as done: the sender's retry repeats the run, and what was done
    // already answers already-current (the restart hash), so only the rest is redone.
    await this.finish(outcome);
    throw new TransientError(`${transient.join('; ')}; deliver the event again`, {
      details: { eventId: event.id, status: outcome.status },
    });
  }

  // Events naming the same secret version while a run for it is in flight share that run
  // (lib/shared-runs.ts). Only pipeline runs take a place in the queue: a redelivery of a
  // finished event answers 'duplicate' without waiting behind new work, so redeliveries of
  // a big batch make progress. A full queue throws (retryable) inside the claim, which is
  // then released.
  private runShared(event: ChangeEvent, options: RunOptions<D>): Promise<Outcome> {
    const key =
      event.version === undefined ? undefined : `${changeKey(event)}|${options.skipRotation === true}`;
    const running = key === undefined ? undefined : this.shared.join(key, options.claimed);
    if (running) {
      options.prefetch?.release(); // the shared run announced the same changes
      return running.then((o) => ({ ...o, eventId: event.id, sharedRunOf: o.eventId }));
    }
    return this.shared.start(key, options.claimed, (gate) =>
      this.queue((leave) =>
        this.run(event, { ...options, gate, prefetch: options.prefetch?.leaveQueueWith(leave) }),
      ),
    );
  }

  private async run(
    event: ChangeEvent,
    options: ProcessOptions & { prefetch?: Prefetch<D>; gate?: ClaimGate; dryRun?: boolean },
  ): Promise<Outcome> {
    // Waited in the queue past the shutdown's grace period: its claim is given back, not run.
    this.drainer.assertOpen();
    const { telemetry, clock, settings } = this.deps;
    const ports = options.prefetch?.runPorts() ?? this.deps.ports;
    const dryRun = options.dryRun ?? settings.dryRun;
    const steps = dryRun ? undefined : new ProgressRecorder(this.claims, event, this.deps.timers);
    let followedUp: (final: Outcome) => void = () => undefined;
    const followUp = new Promise<Outcome>((resolve) => {
      followedUp = resolve;
    });
    const outcome = await telemetry.span('rotor.pipeline', eventAttributes(event, refKey(event.ref)), () =>
      runPipeline(event, ports, clock, {
        dryRun,
        clusterDeadlineMs: settings.clusterDeadlineMs,
        followWaitMs: settings.followWaitMs ?? 0,
        onFollowUpDone: followedUp,
        ...(options.gate ? { claimed: options.gate.opened } : {}),
        ...(options.skipRotation ? { skipRotation: true } : {}),
        ...(steps ? { steps } : {}),
      })
        .catch(unlessLost) // a speculative run that stopped at its gate did not fail
        .finally(() => steps?.close()),
    );
    if (!outcome) throw new ClaimLostError();
    // A rotation is settled (verified, or undone) once its rollouts have ended.
    const settle = async (o: Outcome): Promise<Settled> =>
      this.deps.settle && !o.dryRun ? this.deps.settle(o) : o;
    if (outcome.workloads.some((w) => w.status === 'restarted' && w.rollout?.status === 'following')) {
      this.followUps.set(
        outcome,
        followUp.then(settle).then((s) => ('final' in s ? s.final : s)),
      );
      await this.deps.answering?.(outcome);
      return outcome;
    }
    const settled = await settle(outcome);
    if (!('final' in settled)) return settled;
    this.followUps.set(settled.answer, settled.final);
    return settled.answer;
  }

  /** A run's follow-ups ended after it answered: recorded, counted, logged, notified. */
  private async finishFollowUp(key: string, answered: Outcome, final: Outcome): Promise<void> {
    const { telemetry, idempotency } = this.deps;
    await idempotency.updateResult(key, JSON.stringify(final)).catch((error: unknown) =>
      telemetry.log.warn('recording the rollout follow-up failed', {
        eventId: final.eventId,
        error: (error as Error).message,
      }),
    );
    // Those that ended before the answer were counted with it.
    const late = final.workloads.filter((_w, i) => {
      const before = answered.workloads[i];
      return before?.status === 'restarted' && before.rollout?.status === 'following';
    });
    telemetry.recordRollouts(late);
    telemetry.log.info('rollout follow-up finished', {
      eventId: final.eventId,
      ref: final.ref,
      rollouts: final.workloads.flatMap((w) =>
        w.status === 'restarted' && w.rollout
          ? [`${w.cluster}/${w.kind}/${w.namespace}/${w.name}=${w.rollout.status}`]
          : [],
      ),
      ms: final.timeline.at(-1)?.atMs,
    });
    await this.deps.notify(final);
    this.deps.onFollowUp?.(final);
  }

  private async finish(outcome: Outcome): Promise<Outcome> {
    const { telemetry } = this.deps;
    telemetry.recordOutcome(outcome);
    telemetry.log.info('pipeline finished', {
      eventId: outcome.eventId,
      ref: outcome.ref,
      status: outcome.status,
      refreshes: outcome.refreshes.length,
      workloads: outcome.workloads.map((w) => `${w.cluster}/${w.kind}/${w.namespace}/${w.name}=${w.status}`),
      ms: outcome.timeline.at(-1)?.atMs,
    });
    if (!outcome.dryRun) await this.deps.notify(outcome);
    this.deps.onOutcome?.(outcome);
    return outcome;
  }
}
