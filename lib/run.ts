import { randomUUID } from 'node:crypto';
import { type ChangeEvent, changeKey, type IgnoredEvent } from './change-event.js';
import type { Clock } from './clock.js';
import { Drain, type DrainReport } from './drain.js';
import { TransientError } from './errors.js';
import { createLimiter, type Limiter } from './limiter.js';
import type { Outcome } from './outcome.js';
import { type DerivedRef, type PipelinePorts, runPipeline } from './pipeline.js';
import { Prefetch } from './prefetch.js';
import type { RunnerSettings } from './run-settings.js';
import { refKey, type SecretRef } from './secret-ref.js';
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
  settle?: (outcome: Outcome) => Promise<Outcome>;
  settings: RunnerSettings;
  /** Who claims events (recorded for `rotor status`); default: host name and process id. */
  claimant?: string | undefined;
}

export interface ProcessOptions {
  /** Manual refresh: no rotation, even for a kind that rotates. */
  skipRotation?: boolean;
}

type RunOptions<D extends DerivedRef> = ProcessOptions & { prefetch?: Prefetch<D> };

/**
 * Runs events through the pipeline with the guarantees a sender relies on:
 * - exactly once per `source:id` (redeliveries answer 'duplicate' with the first outcome);
 * - events naming the same secret version while a run for it is in flight share that run;
 * - a run that could not reach a cluster is recorded as not done and thrown as a
 *   TransientError, so the sender delivers it again;
 * - every finished outcome is recorded, logged, notified (not for dry runs) and reported.
 */
export class Runner<D extends DerivedRef = DerivedRef> {
  private readonly inflight = new Map<string, Promise<Outcome>>();
  /** Rollout follow-ups still running when their run answered, by that run's outcome. */
  private readonly followUps = new WeakMap<Outcome, Promise<Outcome>>();
  private readonly queue: Limiter;
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
    // Resolving only reads: it runs while the claim is written, off the critical path.
    const prefetch = new Prefetch(this.deps.ports, event, { announce: !settings.dryRun });
    const result = await withIdempotency(
      idempotency,
      `${event.source}:${event.id}`,
      () => this.runOrThrowTransient(event, { ...options, prefetch }),
      {
        inProgressExpiryMs: settings.inProgressExpiryMs,
        clock,
        claims: this.claims,
        claimant: this.deps.claimant,
      },
    ).finally(() => prefetch.release());
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
    this.followUps
      .get(result.value)
      ?.then((final) => this.finishFollowUp(`${event.source}:${event.id}`, result.value, final));
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
    const transient = retryableFailures(outcome);
    if (transient.length === 0) return outcome;
    // Nothing is recorded as done: the sender's retry repeats the run, and what was done
    // already answers already-current (the restart hash), so only the rest is redone.
    await this.finish(outcome);
    throw new TransientError(`${transient.join('; ')}; deliver the event again`, {
      details: { eventId: event.id, status: outcome.status },
    });
  }

  // Events naming the same secret version while a run for it is in flight share that run:
  // forcing the same ExternalSecret five times at once only slows each force down.
  // Only pipeline runs take a place in the queue: a redelivery of a finished event answers
  // 'duplicate' without waiting behind new work, so redeliveries of a big batch make progress.
  // A full queue throws (retryable) inside the claim, which is then released.
  private runShared(event: ChangeEvent, options: RunOptions<D>): Promise<Outcome> {
    if (event.version === undefined) return this.queue(() => this.run(event, options));
    const key = `${changeKey(event)}|${options.skipRotation === true}`;
    const running = this.inflight.get(key);
    if (running) {
      options.prefetch?.release(); // the shared run announced the same changes
      return running.then((o) => ({ ...o, eventId: event.id, sharedRunOf: o.eventId }));
    }
    const started = this.queue(() => this.run(event, options)).finally(() => this.inflight.delete(key));
    this.inflight.set(key, started);
    return started;
  }

  private async run(event: ChangeEvent, options: RunOptions<D> & { dryRun?: boolean }): Promise<Outcome> {
    // Waited in the queue past the shutdown's grace period: its claim is given back, not run.
    this.drainer.assertOpen();
    const { telemetry, clock, settings } = this.deps;
    const ports = options.prefetch?.runPorts() ?? this.deps.ports;
    let followedUp: (final: Outcome) => void = () => undefined;
    const followUp = new Promise<Outcome>((resolve) => {
      followedUp = resolve;
    });
    const outcome = await telemetry.span('rotor.pipeline', eventAttributes(event, refKey(event.ref)), () =>
      runPipeline(event, ports, clock, {
        dryRun: options.dryRun ?? settings.dryRun,
        clusterDeadlineMs: settings.clusterDeadlineMs,
        followWaitMs: settings.followWaitMs ?? 0,
        onFollowUpDone: followedUp,
        ...(options.skipRotation ? { skipRotation: true } : {}),
      }),
    );
    // A rotation is settled (verified, or undone) once its rollouts have ended.
    const settle = async (o: Outcome) => (this.deps.settle && !o.dryRun ? this.deps.settle(o) : o);
    if (outcome.workloads.some((w) => w.status === 'restarted' && w.rollout?.status === 'following')) {
      this.followUps.set(outcome, followUp.then(settle));
      return outcome;
    }
    return settle(outcome);
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

/** A request from the HTTP API or the CLI, as an event; its request id makes retries exactly-once. */
function manualEvent(
  ref: SecretRef,
  kind: ChangeEvent['kind'],
  clock: Clock,
  requestId?: string,
): ChangeEvent {
  const now = clock.now();
  return {
    id: requestId ?? `manual-${randomUUID()}`,
    ref,
    kind,
    source: 'manual',
    observedAt: now,
    receivedAt: now,
  };
}

/**
 * What a redelivery may fix: an unreachable or timed-out cluster, an operator that did not
 * finish its refresh in time (busy or restarting), a restart the API server refused for
 * now (5xx, 429). A failure that would repeat (forbidden, the operator's own sync error)
 * is recorded as done.
 */
function retryableFailures(outcome: Outcome): string[] {
  return [
    ...outcome.clusterFailures
      .filter((f) => f.error.retryable)
      .map((f) => `cluster ${f.cluster}: ${f.error.message}`),
    ...outcome.refreshes.flatMap((r) =>
      r.status === 'failed' && r.error.retryable ? [r.error.message] : [],
    ),
    ...outcome.workloads.flatMap((w) =>
      w.status === 'failed' && w.error.retryable ? [w.error.message] : [],
    ),
  ];
}

function duplicateOutcome(event: ChangeEvent, previous: Outcome | undefined): Outcome {
  return {
    ...(previous ?? { refreshes: [], workloads: [], clusterFailures: [], timeline: [], dryRun: false }),
    eventId: event.id,
    ref: refKey(event.ref),
    kind: event.kind,
    source: event.source,
    status: 'duplicate',
  };
}
