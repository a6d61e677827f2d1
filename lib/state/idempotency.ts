import { hostname } from 'node:os';
import { type Clock, systemClock, systemTimers, type Timers } from '../clock.js';
import { RotorError } from '../errors.js';
import { HeldClaim, type LiveClaims } from './held-claim.js';
import { causeText } from './tables.js';

/**
 * Exactly-once effects over at-least-once delivery, shaped like AWS Powertools' idempotency
 * utility: a persistence layer with a few storage hooks and one conditional create.
 *
 *   1. create an `in-progress` record for the key (fails with 409 when it exists);
 *   2. run the work; on success mark the record `completed`, on failure delete it so a
 *      redelivery can do the work again;
 *   3. a redelivery of a completed key answers `duplicate` without doing anything;
 *   4. a delivery that finds the key in progress waits up to `waitMs` for the other one to
 *      finish, then answers IdempotencyInProgressError (retryable → 503, Event Grid retries
 *      later). Answering 5xx instead of holding the request keeps us inside Event Grid's
 *      30 s response timeout;
 *   5. an in-progress record older than `inProgressExpiryMs` belonged to a worker that died:
 *      it is taken over with an ETag-conditional replace, so only one taker wins.
 * Completed records are kept (Table Storage has no TTL); Event Grid retries for 24 h, so
 * anything shorter would let a late retry redo the work. If recording completion fails the
 * error is retryable; the retry finds the key in progress until it expires and then redoes
 * the work, which is safe because the restart step is idempotent (same hash, no patch).
 *
 * `speculative`: the work starts while the claim is written, and is handed a promise of
 * the claim's fate; it must do nothing that counts before that promise says true (rotor's
 * runs force the operator, which is idempotent, and wait at lib/claim-gate.ts before
 * anything else). A lost claim answers as above at once, whatever the work is doing.
 */

export type IdempotencyStatus = 'in-progress' | 'completed';

export interface IdempotencyRecord {
  key: string;
  status: IdempotencyStatus;
  /** When an in-progress record may be taken over. */
  expiresAt: Date;
  completedAt?: Date;
  /** The result of the work, serialised, when it was small enough to keep. */
  result?: string;
  /** Who holds (or last held) the claim: an instance of rotor (host name and process id). */
  claimedBy?: string;
  /** When that claim was made (a renewal keeps it). */
  claimedAt?: Date;
  /**
   * In progress: what the run has finished so far (lib/run-progress.ts), written by its
   * holder (HeldClaim.note); a renewal keeps it, a takeover by another claimant drops it.
   */
  progress?: string;
  /** Storage version; every conditional write uses it. */
  etag: string;
}

/** Who claims a key, and when. */
export interface Claimant {
  by: string;
  at: Date;
}

/** The storage hooks; each maps its backend's conflicts onto these outcomes. */
export interface IdempotencyStore {
  /** Conditional create. Throws IdempotencyRecordExistsError when the key already has a record. */
  putInProgress(key: string, expiresAt: Date, claimant?: Claimant): Promise<IdempotencyRecord>;
  get(key: string): Promise<IdempotencyRecord | undefined>;
  /**
   * Replaces `record` only if unchanged since read; undefined when someone else changed it
   * first. Without `claimant` the record's own claimant and `progress` are kept (a renewal
   * by its holder, which may carry new progress).
   */
  takeOver(
    record: IdempotencyRecord,
    expiresAt: Date,
    claimant?: Claimant,
  ): Promise<IdempotencyRecord | undefined>;
  complete(record: IdempotencyRecord, completedAt: Date, result: string | undefined): Promise<void>;
  /** Deletes `record` if unchanged since read; a record already gone or changed is left alone. */
  release(record: IdempotencyRecord): Promise<void>;
  /**
   * Replaces the kept result of a completed key: work that goes on after the answer (a
   * rollout follow-up) records how it ended. A key no longer stored is left alone.
   */
  updateResult(key: string, result: string): Promise<void>;
}

export class IdempotencyRecordExistsError extends RotorError {
  constructor(readonly key: string) {
    super('idempotency_record_exists', `an idempotency record for '${key}' already exists`, false);
  }
}

/** Another delivery of the same event is being processed right now: retry later. */
export class IdempotencyInProgressError extends RotorError {
  constructor(
    readonly key: string,
    readonly expiresAt: Date,
  ) {
    super(
      'in_progress',
      `'${key}' is being processed by another delivery; retry after ${expiresAt.toISOString()}`,
      true,
      {
        details: { expiresAt: expiresAt.toISOString() },
      },
    );
  }
}

/** The state store could not be read or written: retryable, nothing was recorded as done. */
export class IdempotencyPersistenceError extends RotorError {
  constructor(operation: string, cause: unknown) {
    super(
      'state_unavailable',
      `idempotency store: ${operation} failed (${causeText(cause)}); retry later`,
      true,
      {
        cause,
      },
    );
  }
}

export type IdempotentResult<T> =
  | { status: 'done'; value: T }
  | { status: 'duplicate'; completedAt: Date; previous?: T };

export interface IdempotencyOptions<T> {
  /** config.state.inProgressExpiryMs */
  inProgressExpiryMs?: number;
  /** How long a concurrent delivery waits for the first to finish before answering "in progress". */
  waitMs?: number;
  pollMs?: number;
  clock?: Clock;
  /** The poll's timer (tests move time instead of sleeping). */
  timers?: Timers;
  /** Results larger than the store can keep are dropped; duplicates then carry no `previous`. */
  serialise?: (value: T) => string | undefined;
  deserialise?: (text: string) => T;
  /** How often the claim is renewed while the work runs (default: a third of the expiry). */
  heartbeatMs?: number;
  /** This process's live claims, so a shutdown can release those it cannot finish. */
  claims?: LiveClaims;
  /** Who claims (recorded for `rotor status`); default: this instance (host name and process id). */
  claimant?: string | undefined;
  /** Start the work beside the claim instead of after it (see the header). */
  speculative?: boolean;
}

const MAX_ATTEMPTS = 5;

export async function withIdempotency<T>(
  store: IdempotencyStore,
  key: string,
  work: (claimed: Promise<boolean>) => Promise<T>,
  options: IdempotencyOptions<T> = {},
): Promise<IdempotentResult<T>> {
  const clock = options.clock ?? systemClock;
  const expiryMs = options.inProgressExpiryMs ?? 120_000;
  let decide: (won: boolean) => void = () => undefined;
  const claimed = new Promise<boolean>((resolve) => {
    decide = resolve;
  });
  const early = options.speculative ? work(claimed) : undefined;
  early?.catch(() => undefined); // awaited below once the claim is won; ignored when lost
  // Held (and added to the live claims) as soon as it is written: a shutdown that began
  // while it was being written waits for it and gives it back.
  const claiming = claimKey(store, key, expiryMs, options, clock).then((claim) =>
    'duplicate' in claim ? claim : { held: holdClaim(store, claim.record, expiryMs, clock, options) },
  );
  options.claims?.claiming(claiming);
  let claim: Awaited<typeof claiming>;
  try {
    claim = await claiming;
  } catch (error) {
    decide(false);
    throw error;
  }
  decide(!('duplicate' in claim));
  if ('duplicate' in claim) return claim.duplicate;

  const { held } = claim;
  let value: T;
  try {
    value = await (early ?? work(claimed));
  } catch (error) {
    // The work failed: give the key back so the sender's retry can succeed.
    await held.release();
    throw error;
  } finally {
    options.claims?.delete(held);
  }
  const serialise = options.serialise ?? ((v: T) => JSON.stringify(v));
  // Unconditional: done is done, even when the claim was given back or taken over meanwhile.
  await store.complete(await held.record(), clock.now(), serialise(value));
  return { status: 'done', value };
}

type Claim<T> = { record: IdempotencyRecord } | { duplicate: IdempotentResult<T> };

function holdClaim<T>(
  store: IdempotencyStore,
  record: IdempotencyRecord,
  expiryMs: number,
  clock: Clock,
  options: IdempotencyOptions<T>,
): HeldClaim<IdempotencyRecord> {
  const held = new HeldClaim(store, record, expiryMs, clock, options.heartbeatMs ?? expiryMs / 3);
  options.claims?.add(held);
  return held;
}

async function claimKey<T>(
  store: IdempotencyStore,
  key: string,
  expiryMs: number,
  options: IdempotencyOptions<T>,
  clock: Clock,
): Promise<Claim<T>> {
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const expiresAt = new Date(clock.now().getTime() + expiryMs);
    const claimant = { by: options.claimant ?? thisInstance(), at: clock.now() };
    try {
      return { record: await store.putInProgress(key, expiresAt, claimant) };
    } catch (error) {
      if (!(error instanceof IdempotencyRecordExistsError)) throw error;
    }
    const existing = await awaitSettled(store, key, options, clock);
    if (!existing) continue; // released by a failed run: try to claim it again
    if (existing.status === 'completed') return { duplicate: duplicateOf(existing, options) };
    if (existing.expiresAt.getTime() > clock.now().getTime())
      throw new IdempotencyInProgressError(key, existing.expiresAt);
    const taken = await store.takeOver(existing, expiresAt, claimant);
    if (taken) return { record: taken };
  }
  throw new IdempotencyInProgressError(key, new Date(clock.now().getTime() + expiryMs));
}

/** Reads the record, polling while another live delivery holds it, for at most `waitMs`. */
async function awaitSettled<T>(
  store: IdempotencyStore,
  key: string,
  options: IdempotencyOptions<T>,
  clock: Clock,
) {
  const deadline = clock.now().getTime() + (options.waitMs ?? 0);
  for (;;) {
    const record = await store.get(key);
    const live = record?.status === 'in-progress' && record.expiresAt.getTime() > clock.now().getTime();
    if (!live || clock.now().getTime() >= deadline) return record;
    await new Promise<void>((resolve) =>
      (options.timers ?? systemTimers).set(resolve, options.pollMs ?? 100),
    );
  }
}

function duplicateOf<T>(record: IdempotencyRecord, options: IdempotencyOptions<T>): IdempotentResult<T> {
  const completedAt = record.completedAt ?? record.expiresAt;
  if (record.result === undefined) return { status: 'duplicate', completedAt };
  const deserialise = options.deserialise ?? ((text: string) => JSON.parse(text) as T);
  try {
    return { status: 'duplicate', completedAt, previous: deserialise(record.result) };
  } catch {
    return { status: 'duplicate', completedAt };
  }
}

/** The record's claim fields for a claimant (none when unknown). */
export function claimFields(
  claimant: Claimant | undefined,
): Pick<IdempotencyRecord, 'claimedBy' | 'claimedAt'> {
  return claimant ? { claimedBy: claimant.by, claimedAt: claimant.at } : {};
}

/** The claimant a record names, if any (a renewal keeps it). */
export function claimantOf(record: IdempotencyRecord): Claimant | undefined {
  return record.claimedBy && record.claimedAt ? { by: record.claimedBy, at: record.claimedAt } : undefined;
}

/** This process as a claimant: the machine (a Functions instance, a pod) and the process. */
function thisInstance(): string {
  return `${hostname()}:${process.pid}`;
}
