import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import { describeError } from '../errors.js';
import type { Logger } from '../telemetry.js';
import type { IdempotencyStore } from './idempotency.js';
import { type LeaseStore, MemoryLeaseStore, TableLeaseStore } from './lease.js';
import { MemoryIdempotencyStore } from './memory-idempotency.js';
import { TableIdempotencyStore } from './table-idempotency.js';
import { Tables } from './tables.js';

export interface StateStores {
  idempotency: IdempotencyStore;
  leases: LeaseStore;
  /** Only a table store keeps records across processes, so only it is purged. */
  purgeable?: TableIdempotencyStore;
  tables?: Tables;
  /** Creates the tables now; failures are logged, not thrown. */
  warm(): Promise<void>;
}

/** Table Storage when configured; otherwise in-process stores (exactly-once within this process only). */
export function stateStores(config: Config['state'], clock: Clock, log: Logger): StateStores {
  if (!config.connectionString && !config.accountUrl) {
    log.warn('no state store configured: exactly-once holds within this process only');
    return {
      idempotency: new MemoryIdempotencyStore(),
      leases: new MemoryLeaseStore(clock),
      warm: async () => {},
    };
  }
  const tables = new Tables(config);
  const idempotency = new TableIdempotencyStore(tables);
  return {
    idempotency,
    leases: new TableLeaseStore(tables, { clock }),
    purgeable: idempotency,
    tables,
    warm: () =>
      tables.get('idempotency').then(
        () => undefined,
        (error) => log.warn('warm-up: state store not ready', { error: describeError(error).message }),
      ),
  };
}
