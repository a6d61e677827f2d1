import { randomUUID } from 'node:crypto';
import {
  type Claimant,
  claimantOf,
  claimFields,
  type IdempotencyRecord,
  IdempotencyRecordExistsError,
  type IdempotencyStore,
} from './idempotency.js';

/**
 * IdempotencyStore for a single process (`npm start` with no state store configured):
 * the same conditional-create semantics as the Table store, kept in a Map.
 */
export class MemoryIdempotencyStore implements IdempotencyStore {
  private readonly records = new Map<string, IdempotencyRecord>();

  async putInProgress(key: string, expiresAt: Date, claimant?: Claimant): Promise<IdempotencyRecord> {
    if (this.records.has(key)) throw new IdempotencyRecordExistsError(key);
    const record: IdempotencyRecord = {
      key,
      status: 'in-progress',
      expiresAt,
      ...claimFields(claimant),
      etag: randomUUID(),
    };
    this.records.set(key, record);
    return record;
  }

  async get(key: string): Promise<IdempotencyRecord | undefined> {
    return this.records.get(key);
  }

  async takeOver(
    record: IdempotencyRecord,
    expiresAt: Date,
    claimant?: Claimant,
  ): Promise<IdempotencyRecord | undefined> {
    if (this.records.get(record.key)?.etag !== record.etag) return undefined;
    const next: IdempotencyRecord = {
      key: record.key,
      status: 'in-progress',
      expiresAt,
      ...claimFields(claimant ?? claimantOf(record)),
      ...(claimant === undefined && record.progress !== undefined ? { progress: record.progress } : {}),
      etag: randomUUID(),
    };
    this.records.set(record.key, next);
    return next;
  }

  async complete(record: IdempotencyRecord, completedAt: Date, result: string | undefined): Promise<void> {
    const { progress: _done, ...kept } = record;
    this.records.set(record.key, {
      ...kept,
      status: 'completed',
      completedAt,
      ...(result === undefined ? {} : { result }),
      etag: randomUUID(),
    });
  }

  async release(record: IdempotencyRecord): Promise<void> {
    if (this.records.get(record.key)?.etag === record.etag) this.records.delete(record.key);
  }

  async updateResult(key: string, result: string): Promise<void> {
    const record = this.records.get(key);
    if (record) this.records.set(key, { ...record, result, etag: randomUUID() });
  }
}
