import { describe, expect, it } from 'vitest';
import type { ChangeEvent } from '../../lib/change-event.js';
import { purgeTask, runDueScan } from '../../lib/due-scan.js';
import type { Outcome } from '../../lib/outcome.js';
import { createLogger } from '../../lib/telemetry.js';
import { KV_REF, ManualClock } from './support/fake-ports.js';

const VAULT_REF = {
  backend: 'vault',
  address: 'http://127.0.0.1:8200',
  namespace: '',
  mount: 'secret',
  path: 'db',
} as const;

describe('runDueScan (the rotation timer)', () => {
  it('runs housekeeping first, then one rotate-due event per due secret, naming the version the scan saw', async () => {
    const order: string[] = [];
    const events: ChangeEvent[] = [];
    const clock = new ManualClock(Date.parse('2026-11-29T07:30:00Z'));

    await runDueScan({
      housekeeping: [async () => void order.push('housekeeping')],
      scan: async () => {
        order.push('scan');
        return [
          { ref: VAULT_REF, version: '4', reason: 'period' },
          { ref: KV_REF, reason: 'near-expiry' },
        ];
      },
      process: async (event) => {
        events.push(event);
        return { status: 'completed' } as Outcome;
      },
      clock,
      log: createLogger('error', () => undefined),
    });

    expect(order).toEqual(['housekeeping', 'scan']);
    expect(events.map((e) => [e.id, e.kind, e.source, e.version])).toEqual([
      ['due:vault:http://127.0.0.1:8200#secret/db@4', 'rotate-due', 'timer', '4'],
      ['due:azure-keyvault:sample-kv/db-password@2026-11-29T07', 'rotate-due', 'timer', undefined],
    ]);
  });

  it('purges completed records older than the retention, and logs a failing purge instead of throwing', async () => {
    const clock = new ManualClock(Date.parse('2026-11-29T12:00:00Z'));
    const lines: string[] = [];
    const log = createLogger('info', (l) => lines.push(l));
    const cutoffs: Date[] = [];

    const store = {
      purgeCompleted: async (before: Date) => {
        cutoffs.push(before);
        return 3;
      },
    };
    await purgeTask(store, 48, clock, log)();
    await purgeTask({ purgeCompleted: () => Promise.reject(new Error('table gone')) }, 48, clock, log)();

    expect(cutoffs.map((d) => d.toISOString())).toEqual(['2026-11-27T12:00:00.000Z']);
    expect(lines.some((l) => l.includes('purged completed event records'))).toBe(true);
    expect(lines.some((l) => l.includes('purging event records failed'))).toBe(true);
  });
});
