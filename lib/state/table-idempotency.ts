import { createHash } from 'node:crypto';
import type { TableClient } from '@azure/data-tables';
import { RotorError } from '../errors.js';
import { statusOf } from '../response-status.js';
import {
  type Claimant,
  claimantOf,
  IdempotencyPersistenceError,
  type IdempotencyRecord,
  IdempotencyRecordExistsError,
  type IdempotencyStatus,
  type IdempotencyStore,
} from './idempotency.js';
import type { Tables } from './tables.js';

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
  claimedBy?: string;
  claimedAt?: string;
  progress?: string;
  etag?: string;
}

/** IdempotencyStore over Azure Table Storage (Azurite locally): one entity per key. */
export class TableIdempotencyStore implements IdempotencyStore {
  constructor(
    private readonly tables: Tables,
    private readonly tableName = 'idempotency',
  ) {}

  async putInProgress(key: string, expiresAt: Date, claimant?: Claimant): Promise<IdempotencyRecord> {
    const entity = this.entity(key, {
      status: 'in-progress',
      expiresAt: expiresAt.toISOString(),
      ...claimColumns(claimant),
    });
    try {
      const response = await this.call((c) => c.createEntity(entity));
      return { ...recordOf({ ...entity, key }), etag: response.etag ?? '*' };
    } catch (error) {
      if (statusOf(error) === 409) throw new IdempotencyRecordExistsError(key);
      throw persistence('create', error);
    }
  }

  async get(key: string): Promise<IdempotencyRecord | undefined> {
    try {
      const entity = await this.call((c) => c.getEntity<RecordEntity>(partitionOf(key), ROW_KEY));
      return { ...recordOf({ ...entity, key }), etag: entity.etag };
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw persistence('read', error);
    }
  }

  async takeOver(
    record: IdempotencyRecord,
    expiresAt: Date,
    claimant?: Claimant,
  ): Promise<IdempotencyRecord | undefined> {
    const progress = claimant === undefined ? record.progress : undefined;
    const entity = this.entity(record.key, {
      status: 'in-progress',
      expiresAt: expiresAt.toISOString(),
      ...claimColumns(claimant ?? claimantOf(record)),
      ...(progress !== undefined && progress.length <= MAX_RESULT_CHARS ? { progress } : {}),
    });
    try {
      const response = await this.call((c) => c.updateEntity(entity, 'Replace', { etag: record.etag }));
      return { ...recordOf({ ...entity, key: record.key }), etag: response.etag ?? '*' };
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
      ...claimColumns(claimantOf(record)),
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

function claimColumns(claimant: Claimant | undefined): Pick<RecordEntity, 'claimedBy' | 'claimedAt'> {
  return claimant ? { claimedBy: claimant.by.slice(0, 256), claimedAt: claimant.at.toISOString() } : {};
}

/** The record an entity holds (the caller adds the ETag). The entity's key column is cut at 1,024 characters. */
function recordOf(entity: RecordEntity & { key: string }): Omit<IdempotencyRecord, 'etag'> {
  return {
    key: entity.key,
    status: entity.status,
    expiresAt: new Date(entity.expiresAt),
    ...(entity.completedAt ? { completedAt: new Date(entity.completedAt) } : {}),
    ...(typeof entity.result === 'string' ? { result: entity.result } : {}),
    ...(entity.claimedBy ? { claimedBy: entity.claimedBy } : {}),
    ...(entity.claimedAt ? { claimedAt: new Date(entity.claimedAt) } : {}),
    ...(typeof entity.progress === 'string' ? { progress: entity.progress } : {}),
  };
}

/** Keys are arbitrary (event ids, request ids); Table keys forbid `/ \ # ?`, so the key is hashed. */
function partitionOf(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

function persistence(operation: string, error: unknown): RotorError {
  return error instanceof RotorError ? error : new IdempotencyPersistenceError(operation, error);
}
