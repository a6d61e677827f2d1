import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import { describeError } from '../errors.js';
import type { Logger } from '../telemetry.js';
import type { IdempotencyStore } from './idempotency.js';
import { type LeaseStore, MemoryLeaseStore, TableLeaseStore } from './lease.js';
import { MemoryIdempotencyStore } from './memory-idempotency.js';
import { TableIdempotencyStore } from './table-idempotency.js';
import { TableVerificationStore } from './table-verifications.js';
import { Tables } from './tables.js';
import { MemoryVerificationStore, type VerificationStore } from './verifications.js';

export interface StateStores {
  idempotency: IdempotencyStore;
  leases: LeaseStore;
  /** Verified rotations whose rollouts have not all ended (lib/rotation/verified.ts). */
  verifications: VerificationStore;
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
      verifications: new MemoryVerificationStore(),
      warm: async () => {},
    };
  }
  const tables = new Tables(config);
  const idempotency = new TableIdempotencyStore(tables);
  return {
    idempotency,
    leases: new TableLeaseStore(tables, { clock }),
    verifications: new TableVerificationStore(tables),
    purgeable: idempotency,
    tables,
    warm: () =>
      tables.get('idempotency').then(
        () => undefined,
        (error) => log.warn('warm-up: state store not ready', { error: describeError(error).message }),
      ),
  };
}
