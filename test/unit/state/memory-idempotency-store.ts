import {
  type IdempotencyRecord,
  IdempotencyRecordExistsError,
  type IdempotencyStore,
} from '../../../lib/state/idempotency.js';

/**
 * Stand-in for TableIdempotencyStore with the same conditional semantics (create fails
 * when present, replace/delete only with a matching etag), for unit tests of the
 * algorithm with an injected clock. The real store is tested against Azurite.
 */
export class MemoryIdempotencyStoreStandIn implements IdempotencyStore {
  readonly records = new Map<string, IdempotencyRecord>();
  failReads = false;
  private version = 0;

  async putInProgress(key: string, expiresAt: Date): Promise<IdempotencyRecord> {
    await tick();
    if (this.records.has(key)) throw new IdempotencyRecordExistsError(key);
    return this.save({ key, status: 'in-progress', expiresAt, etag: '' });
  }

  async get(key: string): Promise<IdempotencyRecord | undefined> {
    await tick();
    if (this.failReads) throw new Error('store down');
    const record = this.records.get(key);
    return record ? { ...record } : undefined;
  }

  async takeOver(record: IdempotencyRecord, expiresAt: Date): Promise<IdempotencyRecord | undefined> {
    await tick();
    if (this.records.get(record.key)?.etag !== record.etag) return undefined;
    return this.save({ key: record.key, status: 'in-progress', expiresAt, etag: '' });
  }

  async complete(record: IdempotencyRecord, completedAt: Date, result: string | undefined): Promise<void> {
    await tick();
    this.save({ ...record, status: 'completed', completedAt, ...(result !== undefined ? { result } : {}) });
  }

  async release(record: IdempotencyRecord): Promise<void> {
    await tick();
    if (this.records.get(record.key)?.etag === record.etag) this.records.delete(record.key);
  }

  async updateResult(key: string, result: string): Promise<void> {
    await tick();
    const record = this.records.get(key);
    if (record) this.save({ ...record, result });
  }

  private save(record: IdempotencyRecord): IdempotencyRecord {
    const saved = { ...record, etag: `v${++this.version}` };
    this.records.set(record.key, saved);
    return { ...saved };
  }
}

function tick(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
