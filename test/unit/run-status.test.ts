import { describe, expect, it } from 'vitest';
import type { Outcome } from '../../lib/outcome.js';
import { runStatus } from '../../lib/run-status.js';
import { MemoryIdempotencyStore } from '../../lib/state/memory-idempotency.js';
import { ManualClock, restarted } from './support/fake-ports.js';
import { IN_PROGRESS_E1, outcomeWith } from './support/outcome.js';

const claimant = { by: 'worker-7:4242', at: new Date('2026-11-29T10:00:00.000Z') };

function outcome(rollout: 'following' | 'rolled-out'): Outcome {
  return outcomeWith({
    workloads: [
      {
        status: 'restarted',
        cluster: 'a',
        kind: 'Deployment',
        namespace: 'app',
        name: 'api',
        hashes: ['h'],
        rollout: rollout === 'following' ? { status: 'following' } : { status: 'rolled-out', ms: 900 },
      },
    ],
  });
}

/** e-1 claimed by worker 7 at 10:00, until 10:02; the clock a second later. */
async function claimedAtTen() {
  const store = new MemoryIdempotencyStore();
  const clock = new ManualClock(Date.parse('2026-11-29T10:00:01.000Z'));
  const record = await store.putInProgress('eventgrid:e-1', new Date('2026-11-29T10:02:00.000Z'), claimant);
  return { store, clock, record };
}

describe('runStatus: a delivery as the state store records it', () => {
  it('in progress while the claim is live, abandoned once it expired (its holder stopped renewing it)', async () => {
    const store = new MemoryIdempotencyStore();
    const clock = new ManualClock(Date.parse('2026-11-29T10:00:01.000Z'));
    await store.putInProgress('eventgrid:e-1', new Date('2026-11-29T10:02:00.000Z'), claimant);

    expect(await runStatus(store, 'e-1', clock)).toEqual([IN_PROGRESS_E1]);
    clock.advance(180_000);
    expect((await runStatus(store, 'e-1', clock))[0]?.state).toBe('abandoned');
  });

  it('completed: when, who, the outcome, and whether rollouts are still followed', async () => {
    const store = new MemoryIdempotencyStore();
    const clock = new ManualClock(Date.parse('2026-11-29T10:00:05.000Z'));
    const record = await store.putInProgress('eventgrid:e-1', new Date('2026-11-29T10:02:00.000Z'), claimant);
    await store.complete(record, new Date('2026-11-29T10:00:02.000Z'), JSON.stringify(outcome('following')));

    const [answered] = await runStatus(store, 'e-1', clock);
    expect(answered).toMatchObject({
      state: 'completed',
      claimedBy: 'worker-7:4242',
      completedAt: '2026-11-29T10:00:02.000Z',
      rollouts: 'following',
    });

    await store.updateResult('eventgrid:e-1', JSON.stringify(outcome('rolled-out')));
    const [followed] = await runStatus(store, 'e-1', clock);
    expect(followed?.rollouts).toBe('ended');
    expect(followed?.outcome?.workloads[0]).toMatchObject({ rollout: { status: 'rolled-out', ms: 900 } });
  });

  it('counts the rollout a verified rotation follows for a workload another run restarted first', async () => {
    const { store, clock, record } = await claimedAtTen();
    const api = {
      status: 'already-current',
      cluster: 'a',
      kind: 'Deployment',
      namespace: 'app',
      name: 'api',
    } as const;
    await store.complete(
      record,
      new Date('2026-11-29T10:00:02.000Z'),
      JSON.stringify(outcomeWith({ workloads: [{ ...api, rollout: { status: 'following' } }] })),
    );

    expect((await runStatus(store, 'e-1', clock))[0]?.rollouts).toBe('following');
  });

  it('in progress or abandoned: the steps its holder wrote so far', async () => {
    const { store, clock, record } = await claimedAtTen();
    const progress = {
      timeline: [{ step: 'resolved', atMs: 40, detail: 'a: 1 derived' }],
      refreshes: [],
      workloads: [restarted('a', 'api')],
    };
    await store.takeOver({ ...record, progress: JSON.stringify(progress) }, record.expiresAt);

    expect((await runStatus(store, 'e-1', clock))[0]).toMatchObject({ state: 'in-progress', progress });
    clock.advance(180_000);
    expect((await runStatus(store, 'e-1', clock))[0]).toMatchObject({ state: 'abandoned', progress });
  });

  it('leaves out progress it cannot read', async () => {
    const { store, clock, record } = await claimedAtTen();
    await store.takeOver({ ...record, progress: '{not json' }, record.expiresAt);

    const [status] = await runStatus(store, 'e-1', clock);
    expect(status?.state).toBe('in-progress');
    expect(status).not.toHaveProperty('progress');
  });

  it('one entry per source that delivered the id; none for an id never seen', async () => {
    const store = new MemoryIdempotencyStore();
    const clock = new ManualClock();
    await store.putInProgress('eventgrid:same', new Date(clock.now().getTime() + 60_000), claimant);
    await store.putInProgress('manual:same', new Date(clock.now().getTime() + 60_000), claimant);

    expect((await runStatus(store, 'same', clock)).map((r) => r.source)).toEqual(['eventgrid', 'manual']);
    expect(await runStatus(store, 'other', clock)).toEqual([]);
  });
});
