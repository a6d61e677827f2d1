import { createHash, randomUUID } from 'node:crypto';
import type { TableClient } from '@azure/data-tables';
import { type Clock, systemClock } from '../clock.js';
import { RotorError } from '../errors.js';
import { statusOf } from '../response-status.js';
import { causeText, type Tables } from './tables.js';

/**
 * Mutual exclusion between rotor instances for one key (a secret's refKey) with a time
 * limit, so a crashed holder never blocks rotation for longer than its ttl.
 */
export interface Lease {
  readonly key: string;
  readonly owner: string;
  release(): Promise<void>;
}

export interface LeaseStore {
  /** The lease, or undefined while another holder's unexpired lease exists. */
  tryAcquire(key: string, ttlMs: number): Promise<Lease | undefined>;
}

interface LeaseEntity {
  partitionKey: string;
  rowKey: string;
  key: string;
  owner: string;
  expiresAt: string;
}

const PARTITION = 'lease';

/**
 * Leases as rows of an Azure Table: taken by a conditional create (409 = held), taken
 * over after expiry by a replace conditioned on the expired row's ETag (412 = someone
 * else took it over first), released by a delete conditioned on our own ETag (a lease
 * that expired and was taken over is never deleted from under its new holder).
 */
export class TableLeaseStore implements LeaseStore {
  private readonly owner: string;
  private readonly clock: Clock;
  private readonly logicalTable: string;

  constructor(
    private readonly tables: Pick<Tables, 'run'>,
    options: { owner?: string; clock?: Clock; logicalTable?: string } = {},
  ) {
    this.owner = options.owner ?? `rotor-${randomUUID()}`;
    this.clock = options.clock ?? systemClock;
    this.logicalTable = options.logicalTable ?? 'Leases';
  }

  async tryAcquire(key: string, ttlMs: number): Promise<Lease | undefined> {
    const entity: LeaseEntity = {
      partitionKey: PARTITION,
      rowKey: rowKeyOf(key),
      key,
      owner: this.owner,
      expiresAt: new Date(this.clock.now().getTime() + ttlMs).toISOString(),
    };
    try {
      const created = await this.call((table) => table.createEntity(entity));
      return this.lease(entity, created.etag);
    } catch (error) {
      if (statusOf(error) !== 409) throw unavailable(error);
    }
    return this.takeOverIfExpired(entity);
  }

  private async takeOverIfExpired(entity: LeaseEntity): Promise<Lease | undefined> {
    let existing: LeaseEntity & { etag: string };
    try {
      existing = await this.call((table) => table.getEntity<LeaseEntity>(PARTITION, entity.rowKey));
    } catch (error) {
      // Released between our create and this read: the next attempt may create it.
      if (statusOf(error) === 404) return undefined;
      throw unavailable(error);
    }
    if (Date.parse(existing.expiresAt) > this.clock.now().getTime()) return undefined;
    try {
      const replaced = await this.call((table) =>
        table.updateEntity(entity, 'Replace', { etag: existing.etag }),
      );
      return this.lease(entity, replaced.etag);
    } catch (error) {
      if (statusOf(error) === 412 || statusOf(error) === 404) return undefined;
      throw unavailable(error);
    }
  }

  /** One table operation; a lost table is recreated and a stale client replaced (Tables.run). */
  private call<T>(operation: (table: TableClient) => Promise<T>): Promise<T> {
    return this.tables.run(this.logicalTable, operation);
  }

  private lease(entity: LeaseEntity, etag: string | undefined): Lease {
    return {
      key: entity.key,
      owner: this.owner,
      release: async () => {
        try {
          await this.call((table) => table.deleteEntity(PARTITION, entity.rowKey, etag ? { etag } : {}));
        } catch (error) {
          // 412: it expired and another instance holds it now; 404: already gone. Both are fine.
          if (statusOf(error) !== 412 && statusOf(error) !== 404) throw unavailable(error);
        }
      },
    };
  }
}

/** Leases within one process: for a single instance without a state store, and for tests. */
export class MemoryLeaseStore implements LeaseStore {
  private readonly held = new Map<string, { owner: string; expiresAt: number }>();

  constructor(private readonly clock: Clock = systemClock) {}

  async tryAcquire(key: string, ttlMs: number): Promise<Lease | undefined> {
    const now = this.clock.now().getTime();
    const current = this.held.get(key);
    if (current && current.expiresAt > now) return undefined;
    const owner = randomUUID();
    this.held.set(key, { owner, expiresAt: now + ttlMs });
    return {
      key,
      owner,
      release: async () => {
        if (this.held.get(key)?.owner === owner) this.held.delete(key);
      },
    };
  }
}

/** Row keys forbid '/', '\\', '#', '?': a refKey is hashed (it is kept in clear in the `key` column). */
export function rowKeyOf(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

function unavailable(error: unknown): RotorError {
  if (error instanceof RotorError) return error;
  return new RotorError('state_unavailable', `lease table is unreachable: ${causeText(error)}`, true, {
    cause: error,
  });
}
