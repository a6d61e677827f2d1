import { describe, expect, it } from 'vitest';
import type { FollowPort } from '../../lib/follow-up.js';
import type { Outcome, RolloutResult, Settled } from '../../lib/outcome.js';
import { Runner } from '../../lib/run.js';
import { MemoryIdempotencyStore } from '../../lib/state/memory-idempotency.js';
import { createTelemetry } from '../../lib/telemetry.js';
import { testConfig } from './events/support.js';
import {
  changeEvent,
  ES,
  fakePorts,
  ManualClock,
  restarted,
  runnerTestSettings,
} from './support/fake-ports.js';
import { drain, settle } from './support/manual-time.js';

/** A follow port the test ends by hand, per workload name. */
function heldFollow() {
  const ends = new Map<string, (r: RolloutResult) => void>();
  const follow: FollowPort = (_cluster, w) =>
    new Promise((resolve) => {
      ends.set(w.name, resolve);
    });
  const end = async (name: string, r: RolloutResult) => {
    while (!ends.has(name)) await settle();
    ends.get(name)?.(r);
  };
  return { follow, end };
}

function runnerWith(
  follow: FollowPort,
  followWaitMs: number,
  answering?: (outcome: Outcome) => Promise<void>,
  settleWith?: (outcome: Outcome) => Promise<Settled>,
) {
  const { ports } = fakePorts({
    alpha: { derived: [ES], workloads: [restarted('alpha', 'api'), restarted('alpha', 'web')] },
  });
  const idempotency = new MemoryIdempotencyStore();
  const notified: Outcome[] = [];
  const followUps: Outcome[] = [];
  const runner = new Runner({
    ports: { ...ports, follow },
    idempotency,
    clock: new ManualClock(),
    telemetry: createTelemetry(testConfig().telemetry, { write: () => undefined }),
    notify: async (o) => {
      notified.push(o);
    },
    onFollowUp: (o) => followUps.push(o),
    ...(answering ? { answering } : {}),
    ...(settleWith ? { settle: settleWith } : {}),
    settings: runnerTestSettings({ followWaitMs }),
  });
  return { runner, idempotency, notified, followUps };
}

const rollouts = (o: Outcome) =>
  Object.fromEntries(o.workloads.map((w) => [w.name, w.status === 'restarted' ? w.rollout : undefined]));

describe('rollout follow-up: each restart followed to its end without holding the delivery', () => {
  it('answers at once with `following`, then records, notifies and reports the final outcome', async () => {
    const held = heldFollow();
    const { runner, idempotency, notified, followUps } = runnerWith(held.follow, 0);

    const answered = await runner.process(changeEvent({ id: 'eg-1' }));

    expect(rollouts(answered)).toEqual({ api: { status: 'following' }, web: { status: 'following' } });
    expect(answered.timeline.map((t) => t.step)).not.toContain('rolled-out');
    await held.end('api', { status: 'rolled-out', ms: 130 });
    await held.end('web', {
      status: 'rollout-failed',
      ms: 10_400,
      reason: 'ProgressDeadlineExceeded',
      message: 'timed out',
    });
    await drain();

    expect(followUps).toHaveLength(1);
    const final = followUps[0] as Outcome;
    expect(rollouts(final)).toEqual({
      api: { status: 'rolled-out', ms: 130 },
      web: { status: 'rollout-failed', ms: 10_400, reason: 'ProgressDeadlineExceeded', message: 'timed out' },
    });
    expect(final.timeline.map((t) => t.step).slice(-2)).toEqual(['done', 'rolled-out']);
    expect(final.timeline.at(-1)?.detail).toContain('1 rolled out, 1 failed');
    // The state store now answers `rotor status` / GET /api/runs/{id} with the final result.
    const stored = JSON.parse((await idempotency.get('eventgrid:eg-1'))?.result ?? '{}') as Outcome;
    expect(rollouts(stored)).toEqual(rollouts(final));
    expect(notified.map((o) => rollouts(o).web?.status)).toEqual(['following', 'rollout-failed']);
    // The answer handed out earlier is not changed behind the caller's back.
    expect(rollouts(answered).api).toEqual({ status: 'following' });
  });

  it('hands the answer with rollouts still followed to `answering` before it answers (a verified rotation records them)', async () => {
    const held = heldFollow();
    const seen: string[] = [];
    let called: () => void = () => undefined;
    const answeringCalled = new Promise<void>((resolve) => {
      called = resolve;
    });
    let release: () => void = () => undefined;
    const answering = async (o: Outcome) => {
      seen.push(JSON.stringify(rollouts(o)));
      called();
      await new Promise<void>((resolve) => {
        release = resolve;
      });
    };
    const { runner } = runnerWith(held.follow, 0, answering);

    let answered: Outcome | undefined;
    const run = runner.process(changeEvent({ id: 'eg-3' })).then((o) => {
      answered = o;
    });
    await answeringCalled;
    await drain();

    expect(seen).toEqual([JSON.stringify({ api: { status: 'following' }, web: { status: 'following' } })]);
    expect(answered).toBeUndefined(); // the answer waits for the record
    release();
    await run;
    expect(answered?.eventId).toBe('eg-3');
  });

  it('answers a settle that goes on after the answer at once, then records, notifies and reports its final outcome', async () => {
    // A verified rotation following rollouts another run started: its verdict comes later.
    let verdict: (o: Outcome) => void = () => undefined;
    const settleWith = async (o: Outcome): Promise<Settled> => ({
      answer: { ...o, status: 'partial' },
      final: new Promise<Outcome>((resolve) => {
        verdict = resolve;
      }),
    });
    const { runner, idempotency, notified, followUps } = runnerWith(
      async () => ({ status: 'rolled-out', ms: 5 }),
      1_000,
      undefined,
      settleWith,
    );

    const answered = await runner.process(changeEvent({ id: 'eg-5' }));
    const record = async () =>
      JSON.parse((await idempotency.get('eventgrid:eg-5'))?.result ?? '{}') as Outcome;

    expect(answered.status).toBe('partial');
    expect((await record()).status).toBe('partial');
    expect(followUps).toEqual([]);
    verdict({ ...answered, status: 'completed', undo: { status: 'not-restored', failed: [], reason: 'x' } });
    await drain();

    expect((await record()).undo).toMatchObject({ status: 'not-restored' });
    expect(notified.map((o) => o.status)).toEqual(['partial', 'completed']);
    expect(followUps.map((o) => o.status)).toEqual(['completed']);
  });

  it('does not call `answering` when every rollout ended within the wait', async () => {
    const seen: Outcome[] = [];
    const { runner } = runnerWith(
      async () => ({ status: 'rolled-out', ms: 5 }),
      1_000,
      async (o) => {
        seen.push(o);
      },
    );
    await runner.process(changeEvent({ id: 'eg-4' }));
    expect(seen).toEqual([]);
  });

  it('puts follow-ups that end within rolloutWaitMs into the answer, with no second report', async () => {
    const follow: FollowPort = async () => ({ status: 'rolled-out', ms: 5 });
    const { runner, followUps, notified } = runnerWith(follow, 1_000);

    const answered = await runner.process(changeEvent({ id: 'eg-2' }));

    expect(rollouts(answered)).toEqual({
      api: { status: 'rolled-out', ms: 5 },
      web: { status: 'rolled-out', ms: 5 },
    });
    expect(answered.timeline.map((t) => t.step).slice(-2)).toEqual(['rolled-out', 'done']);
    await drain();
    expect(followUps).toEqual([]);
    expect(notified).toHaveLength(1);
  });

  it('reports a follow-up that threw as not-followed instead of losing the run', async () => {
    const follow: FollowPort = async () => {
      throw new Error('index closed');
    };
    const { runner } = runnerWith(follow, 1_000);

    const answered = await runner.process(changeEvent({ id: 'eg-3' }));

    expect(rollouts(answered).api).toEqual({ status: 'not-followed', reason: 'index closed' });
  });

  it('follows nothing in a dry run', async () => {
    let called = 0;
    const follow: FollowPort = async () => {
      called++;
      return { status: 'rolled-out', ms: 1 };
    };
    const { runner } = runnerWith(follow, 1_000);

    const answered = await runner.dryRun(changeEvent({ id: 'eg-4' }));

    expect(called).toBe(0);
    expect(rollouts(answered).api).toBeUndefined();
  });
});
