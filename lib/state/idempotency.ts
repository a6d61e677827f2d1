import { createHash } from 'node:crypto';
import type { TableClient } from '@azure/data-tables';
import { type Clock, systemClock } from '../clock.js';
import { RotorError } from '../errors.js';
import { statusOf } from '../response-status.js';
import { causeText, type Tables } from './tables.js';

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
  /** Storage version; every conditional write uses it. */
  etag: string;
}

/** The storage hooks; each maps its backend's conflicts onto these outcomes. */
export interface IdempotencyStore {
  /** Conditional create. Throws IdempotencyRecordExistsError when the key already has a record. */
  putInProgress(key: string, expiresAt: Date): Promise<IdempotencyRecord>;
  get(key: string): Promise<IdempotencyRecord | undefined>;
  /** Replaces `record` only if unchanged since read; undefined when someone else changed it first. */
  takeOver(record: IdempotencyRecord, expiresAt: Date): Promise<IdempotencyRecord | undefined>;
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
  /** Results larger than the store can keep are dropped; duplicates then carry no `previous`. */
  serialise?: (value: T) => string | undefined;
  deserialise?: (text: string) => T;
}

const MAX_ATTEMPTS = 5;

export async function withIdempotency<T>(
  store: IdempotencyStore,
  key: string,
  work: () => Promise<T>,
  options: IdempotencyOptions<T> = {},
): Promise<IdempotentResult<T>> {
  const clock = options.clock ?? systemClock;
  const expiryMs = options.inProgressExpiryMs ?? 120_000;
  const claim = await claimKey(store, key, expiryMs, options, clock);
  if ('duplicate' in claim) return claim.duplicate;

  let value: T;
  try {
    value = await work();
  } catch (error) {
    // The work failed: give the key back so the sender's retry can succeed.
    await store.release(claim.record).catch(() => undefined);
    throw error;
  }
  const serialise = options.serialise ?? ((v: T) => JSON.stringify(v));
  await store.complete(claim.record, clock.now(), serialise(value));
  return { status: 'done', value };
}

type Claim<T> = { record: IdempotencyRecord } | { duplicate: IdempotentResult<T> };

async function claimKey<T>(
  store: IdempotencyStore,
  key: string,
  expiryMs: number,
  options: IdempotencyOptions<T>,
  clock: Clock,
): Promise<Claim<T>> {
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const expiresAt = new Date(clock.now().getTime() + expiryMs);
    try {
      return { record: await store.putInProgress(key, expiresAt) };
    } catch (error) {
      if (!(error instanceof IdempotencyRecordExistsError)) throw error;
    }
    const existing = await awaitSettled(store, key, options, clock);
    if (!existing) continue; // released by a failed run: try to claim it again
    if (existing.status === 'completed') return { duplicate: duplicateOf(existing, options) };
    if (existing.expiresAt.getTime() > clock.now().getTime())
      throw new IdempotencyInProgressError(key, existing.expiresAt);
    const taken = await store.takeOver(existing, expiresAt);
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
    await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 100));
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

/** Table Storage keeps string properties up to 64 KiB (32 K UTF-16 characters). */
const MAX_RESULT_CHARS = 30_000;
const ROW_KEY = 'idempotency';

interface RecordEntity {
  partitionKey: string;
  rowKey: string;
  key: string;
  status: IdempotencyStatus;
  expiresAt: string;
  completedAt?: string;
  result?: string;
  etag?: string;
}

/** IdempotencyStore over Azure Table Storage (Azurite locally): one entity per key. */
export class TableIdempotencyStore implements IdempotencyStore {
  constructor(
    private readonly tables: Tables,
    private readonly tableName = 'idempotency',
  ) {}

  async putInProgress(key: string, expiresAt: Date): Promise<IdempotencyRecord> {
    const entity = this.entity(key, { status: 'in-progress', expiresAt: expiresAt.toISOString() });
    try {
      const response = await this.call((c) => c.createEntity(entity));
      return { key, status: 'in-progress', expiresAt, etag: response.etag ?? '*' };
    } catch (error) {
      if (statusOf(error) === 409) throw new IdempotencyRecordExistsError(key);
      throw persistence('create', error);
    }
  }

  async get(key: string): Promise<IdempotencyRecord | undefined> {
    try {
      const entity = await this.call((c) => c.getEntity<RecordEntity>(partitionOf(key), ROW_KEY));
      return {
        key,
        status: entity.status,
        expiresAt: new Date(entity.expiresAt),
        ...(entity.completedAt ? { completedAt: new Date(entity.completedAt) } : {}),
        ...(typeof entity.result === 'string' ? { result: entity.result } : {}),
        etag: entity.etag,
      };
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw persistence('read', error);
    }
  }

  async takeOver(record: IdempotencyRecord, expiresAt: Date): Promise<IdempotencyRecord | undefined> {
    const entity = this.entity(record.key, { status: 'in-progress', expiresAt: expiresAt.toISOString() });
    try {
      const response = await this.call((c) => c.updateEntity(entity, 'Replace', { etag: record.etag }));
      return { key: record.key, status: 'in-progress', expiresAt, etag: response.etag ?? '*' };
    } catch (error) {
      if (statusOf(error) === 412 || statusOf(error) === 404) return undefined;
      throw persistence('take over', error);
    }
  }

  async complete(record: IdempotencyRecord, completedAt: Date, result: string | undefined): Promise<void> {
    const entity = this.entity(record.key, {
      status: 'completed',
      expiresAt: record.expiresAt.toISOString(),
      completedAt: completedAt.toISOString(),
      ...(result !== undefined && result.length <= MAX_RESULT_CHARS ? { result } : {}),
    });
    try {
      // Unconditional: if a taker replaced our expired claim, both did the work and it is done either way.
      await this.call((c) => c.upsertEntity(entity, 'Replace'));
    } catch (error) {
      throw persistence('complete', error);
    }
  }

  async release(record: IdempotencyRecord): Promise<void> {
    try {
      await this.call((c) => c.deleteEntity(partitionOf(record.key), ROW_KEY, { etag: record.etag }));
    } catch (error) {
      if (statusOf(error) === 404 || statusOf(error) === 412) return;
      throw persistence('release', error);
    }
  }

  async updateResult(key: string, result: string): Promise<void> {
    if (result.length > MAX_RESULT_CHARS) return;
    try {
      await this.call((c) =>
        c.updateEntity({ partitionKey: partitionOf(key), rowKey: ROW_KEY, result }, 'Merge'),
      );
    } catch (error) {
      if (statusOf(error) === 404) return;
      throw persistence('update result', error);
    }
  }

  /**
   * Deletes completed records older than `before` (Table Storage has no TTL). Event Grid
   * retries for at most 24 h, so a retention beyond that never lets a late retry redo work.
   * A full-table query: run it from the timer, never per event.
   */
  async purgeCompleted(before: Date): Promise<number> {
    // ISO timestamps hold no quote, so the literal needs no escaping (odata`` would load the SDK).
    const filter = `status eq 'completed' and completedAt lt '${before.toISOString()}'`;
    try {
      return await this.call(async (client) => {
        let deleted = 0;
        for await (const e of client.listEntities<RecordEntity>({
          queryOptions: { filter, select: ['etag'] },
        })) {
          await client.deleteEntity(e.partitionKey, e.rowKey, { etag: e.etag }).catch((error: unknown) => {
            if (statusOf(error) !== 404 && statusOf(error) !== 412) throw error;
          });
          deleted += 1;
        }
        return deleted;
      });
    } catch (error) {
      throw persistence('purge', error);
    }
  }

  /** One table operation; a lost table is recreated and a stale client replaced (Tables.run). */
  private call<T>(operation: (client: TableClient) => Promise<T>): Promise<T> {
    return this.tables.run(this.tableName, operation);
  }

  private entity(key: string, fields: Omit<RecordEntity, 'partitionKey' | 'rowKey' | 'key'>): RecordEntity {
    return { partitionKey: partitionOf(key), rowKey: ROW_KEY, key: key.slice(0, 1024), ...fields };
  }
}

/** Keys are arbitrary (event ids, request ids); Table keys forbid `/ \ # ?`, so the key is hashed. */
function partitionOf(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

function persistence(operation: string, error: unknown): RotorError {
  return error instanceof RotorError ? error : new IdempotencyPersistenceError(operation, error);
}
