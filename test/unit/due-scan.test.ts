import { describe, expect, it } from 'vitest';
import type { ChangeEvent } from '../../lib/change-event.js';
import { MAX_FINISHES_PER_TICK, purgeTask, runDueScan } from '../../lib/due-scan.js';
import type { Outcome } from '../../lib/outcome.js';
import { refKey, type SecretRef } from '../../lib/secret-ref.js';
import { MemoryVerificationStore, type VerificationRecord } from '../../lib/state/verifications.js';
import { createLogger } from '../../lib/telemetry.js';
import { KV_REF, ManualClock } from './support/fake-ports.js';

const VAULT_REF = {
  backend: 'vault',
  address: 'http://127.0.0.1:8200',
  namespace: '',
  mount: 'secret',
  path: 'db',
} as const;

const HOURLY = '0 0 * * * *';

/** A Verifications row of a rotation of `ref` to version 7 (verification-finish.ts). */
function row(ref: SecretRef, patch: Partial<VerificationRecord>): VerificationRecord {
  return {
    ref,
    newVersion: '7',
    previousVersion: '6',
    verify: true,
    generator: { kind: 'password' },
    state: 'failed',
    reason: 'cluster west unreachable',
    workloads: [],
    rotatedAt: '2026-11-29T06:10:00.000Z',
    owner: 'rotor-a',
    deadline: '2026-11-29T06:20:00.000Z',
    ...patch,
  };
}

/** runDueScan over these rows and due secrets; returns the events it processed and the log lines. */
async function tick(
  rows: VerificationRecord[],
  due: Array<{ ref: SecretRef; version?: string }>,
  options: { at?: string; schedule?: string; fail?: (event: ChangeEvent) => boolean } = {},
) {
  const store = new MemoryVerificationStore();
  for (const r of rows) await store.create(r);
  const events: ChangeEvent[] = [];
  const lines: string[] = [];
  const outcomes = await runDueScan({
    housekeeping: [],
    scan: async () => due.map((d) => ({ ...d, reason: 'period' as const })),
    process: async (event) => {
      events.push(event);
      if (options.fail?.(event)) throw new Error(`cluster west unreachable; deliver the event again`);
      return { eventId: event.id, status: 'completed' } as Outcome;
    },
    finishing: { store, schedule: options.schedule ?? HOURLY },
    clock: new ManualClock(Date.parse(options.at ?? '2026-11-29T07:00:02Z')),
    log: createLogger('info', (l) => lines.push(l)),
  });
  return { events, lines, outcomes };
}

describe('runDueScan finishes the rollouts a rotation did not complete (no retry needed)', () => {
  it('processes one rotate-due event per failed row, on its new version, named after the row and the tick', async () => {
    const { events } = await tick([row(VAULT_REF, {})], []);

    expect(events.map((e) => [e.id, e.kind, e.source, e.version, refKey(e.ref)])).toEqual([
      [
        'finish:vault:http://127.0.0.1:8200#secret/db@7/2026-11-29T07:00:00.000Z',
        'rotate-due',
        'timer',
        '7',
        refKey(VAULT_REF),
      ],
    ]);
  });

  it('names the tick of the schedule, so two instances of one tick share an id and the next tick tries again', async () => {
    const every5 = '0 */5 * * * *';
    const a = await tick([row(VAULT_REF, {})], [], { schedule: every5, at: '2026-11-29T07:05:00.000Z' });
    const b = await tick([row(VAULT_REF, {})], [], { schedule: every5, at: '2026-11-29T07:05:03.250Z' });
    const next = await tick([row(VAULT_REF, {})], [], { schedule: every5, at: '2026-11-29T07:10:01Z' });

    expect(a.events[0]?.id).toBe(b.events[0]?.id);
    expect(a.events[0]?.id).toMatch(/@7\/2026-11-29T07:05:00.000Z$/);
    expect(next.events[0]?.id).toMatch(/@7\/2026-11-29T07:10:00.000Z$/);
  });

  it('leaves alone a row another run is finishing now (its deadline ahead), and a row still rolling', async () => {
    const { events } = await tick(
      [
        row(VAULT_REF, { finishing: true, owner: 'rotor-b', deadline: '2026-11-29T07:09:00.000Z' }),
        row(KV_REF, { state: 'rolling', reason: undefined, deadline: '2026-11-29T06:00:00.000Z' }),
        row({ ...VAULT_REF, path: 'api' }, {}),
      ],
      [],
    );

    expect(events.map((e) => e.id)).toEqual([
      'finish:vault:http://127.0.0.1:8200#secret/api@7/2026-11-29T07:00:00.000Z',
    ]);
  });

  it('takes up a row whose finisher stopped (its deadline passed)', async () => {
    const { events } = await tick(
      [row(VAULT_REF, { finishing: true, owner: 'rotor-b', deadline: '2026-11-29T06:59:00.000Z' })],
      [],
    );

    expect(events.map((e) => e.id)).toEqual([
      'finish:vault:http://127.0.0.1:8200#secret/db@7/2026-11-29T07:00:00.000Z',
    ]);
  });

  it('a secret both due and failed is finished, never rotated: one event, the finishing one', async () => {
    const { events } = await tick([row(VAULT_REF, {})], [{ ref: VAULT_REF, version: '7' }, { ref: KV_REF }]);

    expect(events.map((e) => e.id)).toEqual([
      'finish:vault:http://127.0.0.1:8200#secret/db@7/2026-11-29T07:00:00.000Z',
      'due:azure-keyvault:sample-kv/db-password@2026-11-29T07',
    ]);
  });

  it('one failing run does not stop the others; each failure is logged', async () => {
    const other = { ...VAULT_REF, path: 'api' };
    const { events, lines, outcomes } = await tick(
      [row(VAULT_REF, {}), row(other, {})],
      [{ ref: KV_REF }, { ref: { backend: 'azure-keyvault', vault: 'sample-kv', name: 'api-key' } }],
      { fail: (e) => e.id.includes('secret/db') || e.id.includes('db-password') },
    );

    expect(events).toHaveLength(4);
    expect(outcomes.map((o) => o.eventId)).toEqual([
      'finish:vault:http://127.0.0.1:8200#secret/api@7/2026-11-29T07:00:00.000Z',
      'due:azure-keyvault:sample-kv/api-key@2026-11-29T07',
    ]);
    expect(lines.filter((l) => l.includes('cluster west unreachable; deliver the event again'))).toHaveLength(
      2,
    );
  });

  it('finishes at most a bounded number of rows per tick, those waiting longest first', async () => {
    const rows = Array.from({ length: MAX_FINISHES_PER_TICK + 2 }, (_, i) =>
      row(
        { ...VAULT_REF, path: `s${i}` },
        { deadline: new Date(Date.parse('2026-11-29T06:00:00Z') - i * 60_000).toISOString() },
      ),
    );
    const { events, lines } = await tick(rows, []);

    expect(events).toHaveLength(MAX_FINISHES_PER_TICK);
    expect(events[0]?.id).toContain(`secret/s${MAX_FINISHES_PER_TICK + 1}@`);
    expect(events.map((e) => e.id).join()).not.toContain('secret/s0@');
    expect(lines.some((l) => l.includes('finishing rollouts') && l.includes(`"left":2`))).toBe(true);
  });
});

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
      finishing: { store: new MemoryVerificationStore(), schedule: HOURLY },
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
