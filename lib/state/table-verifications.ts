import type { TableClient } from '@azure/data-tables';
import { RotorError } from '../errors.js';
import { statusOf } from '../response-status.js';
import { refKey } from '../secret-ref.js';
import { rowKeyOf } from './lease.js';
import { causeText, type Tables } from './tables.js';
import type { StoredVerification, VerificationRecord, VerificationStore } from './verifications.js';

const PARTITION = 'verification';

interface VerificationEntity {
  partitionKey: string;
  rowKey: string;
  /** The ref's refKey in clear (the row key is its hash: row keys forbid '/'). */
  key: string;
  /** The record as JSON: versions, workloads, owner; never a secret value. */
  record: string;
}

/**
 * Verification records as rows of an Azure Table (Azurite locally), one per secret:
 * created conditionally (409: the secret has one), replaced and deleted on the ETag read
 * (412: another instance wrote it since), so exactly one instance acts on a rotation.
 */
export class TableVerificationStore implements VerificationStore {
  constructor(
    private readonly tables: Pick<Tables, 'run'>,
    private readonly logicalTable = 'Verifications',
  ) {}

  async create(record: VerificationRecord): Promise<StoredVerification | undefined> {
    const entity = entityOf(refKey(record.ref), record);
    try {
      const created = await this.call((t) => t.createEntity(entity));
      return { record, etag: created.etag ?? '' };
    } catch (error) {
      if (statusOf(error) === 409) return undefined;
      throw unavailable('create', error);
    }
  }

  async get(key: string): Promise<StoredVerification | undefined> {
    try {
      const entity = await this.call((t) => t.getEntity<VerificationEntity>(PARTITION, rowKeyOf(key)));
      return storedOf(entity);
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw unavailable('read', error);
    }
  }

  async list(): Promise<StoredVerification[]> {
    try {
      return await this.call(async (t) => {
        const out: StoredVerification[] = [];
        const rows = t.listEntities<VerificationEntity>({
          queryOptions: { filter: `PartitionKey eq '${PARTITION}'` },
        });
        for await (const entity of rows) out.push(storedOf(entity));
        return out;
      });
    } catch (error) {
      throw unavailable('list', error);
    }
  }

  async replace(
    key: string,
    record: VerificationRecord,
    etag: string,
  ): Promise<StoredVerification | undefined> {
    try {
      const replaced = await this.call((t) => t.updateEntity(entityOf(key, record), 'Replace', { etag }));
      return { record, etag: replaced.etag ?? '' };
    } catch (error) {
      if (statusOf(error) === 412 || statusOf(error) === 404) return undefined;
      throw unavailable('replace', error);
    }
  }

  async remove(key: string, etag: string): Promise<boolean> {
    try {
      await this.call((t) => t.deleteEntity(PARTITION, rowKeyOf(key), { etag }));
      return true;
    } catch (error) {
      if (statusOf(error) === 404) return true;
      if (statusOf(error) === 412) return false;
      throw unavailable('delete', error);
    }
  }

  /** One table operation; a lost table is recreated and a stale client replaced (Tables.run). */
  private call<T>(operation: (table: TableClient) => Promise<T>): Promise<T> {
    return this.tables.run(this.logicalTable, operation);
  }
}

function entityOf(key: string, record: VerificationRecord): VerificationEntity {
  return { partitionKey: PARTITION, rowKey: rowKeyOf(key), key, record: JSON.stringify(record) };
}

function storedOf(entity: VerificationEntity & { etag?: string }): StoredVerification {
  return { record: JSON.parse(entity.record) as VerificationRecord, etag: entity.etag ?? '' };
}

function unavailable(operation: string, error: unknown): RotorError {
  if (error instanceof RotorError) return error;
  return new RotorError(
    'state_unavailable',
    `verification table: ${operation} failed: ${causeText(error)}`,
    true,
    { cause: error },
  );
}
