import { SpanStatusCode } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { ForbiddenError, SyncFailedError, TimeoutError, TransientError } from '../../lib/errors.js';
import type { Outcome } from '../../lib/outcome.js';
import type { PipelinePorts } from '../../lib/pipeline.js';
import { Runner } from '../../lib/run.js';
import { IdempotencyPersistenceError, type IdempotencyStore } from '../../lib/state/idempotency.js';
import { MemoryIdempotencyStore } from '../../lib/state/memory-idempotency.js';
import { createTelemetry } from '../../lib/telemetry.js';
import { testConfig } from './events/support.js';
import {
  changeEvent,
  ES,
  type FakeCluster,
  fakePorts,
  KV_REF,
  ManualClock,
  restarted,
  runnerTestSettings,
} from './support/fake-ports.js';

function runnerOver(
  ports: PipelinePorts,
  settings: { dryRun?: boolean; queueLimit?: number; concurrency?: number } = {},
  idempotency: IdempotencyStore = new MemoryIdempotencyStore(),
) {
  const clock = new ManualClock();
  const logLines: string[] = [];
  const notified: Outcome[] = [];
  const reported: Outcome[] = [];
  const telemetry = createTelemetry(testConfig().telemetry, {
    write: (l) => logLines.push(l),
    inMemory: true,
  });
  const runner = new Runner({
    ports,
    idempotency,
    clock,
    telemetry,
    notify: async (o) => {
      notified.push(o);
    },
    onOutcome: (o) => reported.push(o),
    settings: runnerTestSettings(settings),
  });
  const spans = () => telemetry.memory?.spans.getFinishedSpans() ?? [];
  return { runner, clock, logLines, notified, reported, spans };
}

function deferred() {
  let open = () => {};
  const gate = new Promise<void>((r) => {
    open = r;
  });
  return { gate, open };
}

describe('Runner.process: exactly once per delivery', () => {
  it('runs an event once and answers its redelivery as a duplicate carrying the first outcome', async () => {
    const { ports, calls } = fakePorts({ alpha: { derived: [ES], workloads: [restarted('alpha', 'api')] } });
    const { runner } = runnerOver(ports);

    const first = await runner.process(changeEvent({ id: 'eg-1' }));
    const again = await runner.process(changeEvent({ id: 'eg-1' }));

    expect(first.status).toBe('completed');
    expect(again).toMatchObject({ status: 'duplicate', eventId: 'eg-1', workloads: first.workloads });
    expect(calls.refresh.map((r) => r.cluster)).toEqual(['alpha']);
    expect(calls.restart.map((r) => r.cluster)).toEqual(['alpha']);
  });

  it('runs the same id from two sources twice: the key is source and id', async () => {
    const { ports, calls } = fakePorts({ alpha: { derived: [ES] } });
    const { runner } = runnerOver(ports);

    await runner.process(changeEvent({ id: 'x', source: 'eventgrid' }));
    await runner.process(changeEvent({ id: 'x', source: 'vault-audit' }));

    expect(calls.resolve).toEqual(['alpha', 'alpha']);
  });

  it('lets events naming the same secret version while a run is in flight share that run', async () => {
    const held = deferred();
    const cluster: FakeCluster = { derived: [ES], gate: held.gate };
    const { ports, calls } = fakePorts({ alpha: cluster });
    const { runner } = runnerOver(ports);

    const first = runner.process(changeEvent({ id: 'replica-a', version: 'v7' }));
    const second = runner.process(changeEvent({ id: 'replica-b', version: 'v7' }));
    held.open();
    const outcomes = await Promise.all([first, second]);

    expect(calls.refresh.map((r) => r.cluster)).toEqual(['alpha']);
    expect(outcomes[1]).toMatchObject({
      eventId: 'replica-b',
      sharedRunOf: 'replica-a',
      status: 'completed',
    });
  });

  it('does not share runs of events without a version', async () => {
    const held = deferred();
    const { ports, calls } = fakePorts({ alpha: { derived: [ES], gate: held.gate } });
    const { runner } = runnerOver(ports);

    const both = Promise.all([
      runner.process(changeEvent({ id: 'a' })),
      runner.process(changeEvent({ id: 'b' })),
    ]);
    held.open();
    await both;

    expect(calls.resolve).toEqual(['alpha', 'alpha']);
  });
});

describe('Runner: a bounded queue of runs', () => {
  it('admits `concurrency` running plus `queueLimit` waiting runs and refuses, as retryable, the next event; its retry runs', async () => {
    const held = deferred();
    const { ports, calls } = fakePorts({ alpha: { derived: [ES], gate: held.gate } });
    const { runner } = runnerOver(ports, { queueLimit: 2 });

    // 4 run (concurrency 4), 2 wait, the 7th is refused and its claim released.
    const accepted = Array.from({ length: 6 }, (_, i) => runner.process(changeEvent({ id: `eg-${i}` })));
    const refused = runner.process(changeEvent({ id: 'eg-6' }));
    await expect(refused).rejects.toBeInstanceOf(TransientError);
    await expect(refused).rejects.toThrow(/busy .*deliver the event again/);
    held.open();
    const outcomes = await Promise.all(accepted);
    const retried = await runner.process(changeEvent({ id: 'eg-6' }));
    const redelivered = await runner.process(changeEvent({ id: 'eg-0' }));

    expect(outcomes.map((o) => o.status)).toEqual(Array(6).fill('completed'));
    expect(redelivered.status).toBe('duplicate');
    expect(retried.status).toBe('completed');
    expect(calls.refresh).toHaveLength(7);
  });
});

describe('Runner.process: an unreachable cluster makes the sender deliver again', () => {
  it('throws a TransientError, records nothing as done, and runs the redelivery', async () => {
    const alpha: FakeCluster = { fail: new TransientError('connect ECONNREFUSED 127.0.0.1:6443') };
    const { ports, calls } = fakePorts({ alpha, beta: { derived: [ES] } });
    const { runner, notified } = runnerOver(ports);

    await expect(runner.process(changeEvent({ id: 'eg-2' }))).rejects.toThrow(
      /cluster alpha: connect ECONNREFUSED.*deliver the event again/,
    );
    delete alpha.fail;
    const retried = await runner.process(changeEvent({ id: 'eg-2' }));

    expect(retried.status).toBe('completed');
    expect(calls.resolve).toEqual(['alpha', 'beta', 'alpha', 'beta']);
    expect(notified.map((o) => o.status)).toEqual(['partial', 'completed']);
  });

  it('records a run whose cluster refused for good as done: retrying cannot help', async () => {
    const { ports } = fakePorts({ alpha: { fail: new ForbiddenError('rotor may not list') } });
    const { runner } = runnerOver(ports);

    const first = await runner.process(changeEvent({ id: 'eg-3' }));
    const again = await runner.process(changeEvent({ id: 'eg-3' }));

    expect(first.status).toBe('failed');
    expect(again).toMatchObject({ status: 'duplicate', clusterFailures: first.clusterFailures });
  });
});

describe('Runner.process: an operator that timed out makes the sender deliver again', () => {
  it('throws a TransientError, records nothing as done, and the redelivery refreshes and restarts', async () => {
    const alpha: FakeCluster = {
      derived: [ES],
      workloads: [restarted('alpha', 'api')],
      refreshFails: new TimeoutError('timeout: ExternalSecret app/db did not finish its refresh within 15 s'),
    };
    const { ports, calls } = fakePorts({ alpha });
    const { runner } = runnerOver(ports);

    await expect(runner.process(changeEvent({ id: 'eg-timeout' }))).rejects.toThrow(
      /ExternalSecret app\/db did not finish its refresh within 15 s.*deliver the event again/,
    );
    delete alpha.refreshFails;
    const retried = await runner.process(changeEvent({ id: 'eg-timeout' }));

    expect(retried.status).toBe('completed');
    expect(calls.refresh).toHaveLength(2);
    expect(calls.restart).toHaveLength(1);
  });

  it('records a refresh the operator refused (sync failed) as done: its own retries go on', async () => {
    const { ports, calls } = fakePorts({
      alpha: { derived: [ES], refreshFails: new SyncFailedError('Ready=False SecretSyncedError: denied') },
    });
    const { runner } = runnerOver(ports);

    const first = await runner.process(changeEvent({ id: 'eg-refused' }));
    const again = await runner.process(changeEvent({ id: 'eg-refused' }));

    expect(first.status).toBe('failed');
    expect(again.status).toBe('duplicate');
    expect(calls.refresh).toHaveLength(1);
  });
});

describe('Runner.process: a burst of changes to one workload becomes one patch', () => {
  it('announces what each event will change as it arrives, before it waits for its turn in the queue', async () => {
    const { ports } = fakePorts({ alpha: { derived: [ES], workloads: [restarted('alpha', 'api')] } });
    const announced: Array<{ event: number; released: boolean }> = [];
    ports.announce = () => {
      const a = { event: announced.length + 1, released: false };
      announced.push(a);
      return {
        release: () => {
          a.released = true;
        },
      };
    };
    const first = deferred();
    const restart = ports.restart;
    ports.restart = async (...args) => {
      await first.gate; // the first run holds the only place in the queue
      return restart(...args);
    };
    const { runner } = runnerOver(ports, { concurrency: 1 });

    const runs = ['eg-b1', 'eg-b2', 'eg-b3'].map((id, i) =>
      runner.process(
        changeEvent({
          id,
          ref: { backend: 'azure-keyvault', vault: 'sample-kv', name: `s-${i}` },
          version: 'v1',
        }),
      ),
    );
    await new Promise((resolve) => setImmediate(resolve));

    expect(announced).toEqual([
      { event: 1, released: false },
      { event: 2, released: false },
      { event: 3, released: false },
    ]);
    first.open();
    await Promise.all(runs);
    expect(announced.every((a) => a.released)).toBe(true);
  });

  it('releases the announcement of a duplicate and of an event that shares a run at once', async () => {
    const { ports } = fakePorts({ alpha: { derived: [ES], workloads: [restarted('alpha', 'api')] } });
    const released = new Set<string>(); // releasing is idempotent, as the restart engine's
    let n = 0;
    ports.announce = () => {
      const name = `a${++n}`;
      return {
        release: () => {
          released.add(name);
        },
      };
    };
    const held = deferred();
    const restart = ports.restart;
    ports.restart = async (...args) => {
      await held.gate;
      return restart(...args);
    };
    const { runner } = runnerOver(ports);

    const running = runner.process(changeEvent({ id: 'eg-s1', version: 'v1' }));
    const sharing = runner.process(changeEvent({ id: 'eg-s2', version: 'v1' }));
    await new Promise((resolve) => setImmediate(resolve));
    // Only the run's own announcement is held while it waits to restart.
    expect(n - released.size).toBe(1);
    expect(released.has('a1')).toBe(false);
    held.open();
    await Promise.all([running, sharing]);
    const duplicate = await runner.process(changeEvent({ id: 'eg-s1', version: 'v1' }));

    expect(duplicate.status).toBe('duplicate');
    expect(released.size).toBe(n);
  });
});

/** A store whose claims wait for `claim.open()`; `fail` makes the claim throw instead. */
function heldStore(store: IdempotencyStore = new MemoryIdempotencyStore(), fail?: Error) {
  const claim = deferred();
  const putInProgress = store.putInProgress.bind(store);
  store.putInProgress = async (key, expiresAt) => {
    await claim.gate;
    if (fail) throw fail;
    return putInProgress(key, expiresAt);
  };
  return { store, claim };
}

const settled = () => new Promise((resolve) => setImmediate(resolve));

describe('Runner.process: the state store off the critical path', () => {
  it('forces while the claim is written, and restarts nothing before the claim is won', async () => {
    const { ports, calls } = fakePorts({ alpha: { derived: [ES], workloads: [restarted('alpha', 'api')] } });
    const { store, claim } = heldStore();
    const { runner, notified } = runnerOver(ports, {}, store);

    const processing = runner.process(changeEvent({ id: 'eg-9' }));
    await settled();

    expect(calls.resolve).toEqual(['alpha']);
    expect(calls.refresh.map((r) => r.cluster)).toEqual(['alpha']);
    expect(calls.restart).toEqual([]);
    expect(notified).toEqual([]);
    claim.open();
    expect((await processing).status).toBe('completed');
    expect(calls.resolve).toEqual(['alpha']);
    expect(calls.restart.map((r) => r.cluster)).toEqual(['alpha']);
  });

  it('a speculative run whose claim is lost (another instance did the event) restarts and notifies nothing', async () => {
    const shared = new MemoryIdempotencyStore();
    const other = fakePorts({ alpha: { derived: [ES], workloads: [restarted('alpha', 'api')] } });
    await runnerOver(other.ports, {}, shared).runner.process(changeEvent({ id: 'eg-11' }));
    const { ports, calls } = fakePorts({ alpha: { derived: [ES], workloads: [restarted('alpha', 'api')] } });
    const { store, claim } = heldStore(shared);
    const { runner, notified, reported, spans } = runnerOver(ports, {}, store);

    const processing = runner.process(changeEvent({ id: 'eg-11' }));
    await settled();
    expect(calls.refresh).toHaveLength(1); // forced: harmless, nothing new to sync
    claim.open();
    const answer = await processing;
    await settled();

    expect(answer.status).toBe('duplicate');
    expect(calls.restart).toEqual([]);
    expect(notified).toEqual([]);
    expect(reported.map((o) => o.status)).toEqual(['duplicate']);
    // The run stopped at its gate: not a failed pipeline in the traces.
    expect(spans().map((s) => [s.name, s.status.code])).toEqual([['rotor.pipeline', SpanStatusCode.UNSET]]);
  });

  it('a claim the store could not write stops the speculative run before its restart; the sender retries', async () => {
    const { ports, calls } = fakePorts({ alpha: { derived: [ES], workloads: [restarted('alpha', 'api')] } });
    const down = new IdempotencyPersistenceError('insert', new Error('ECONNREFUSED'));
    const { store, claim } = heldStore(new MemoryIdempotencyStore(), down);
    const { runner, notified } = runnerOver(ports, {}, store);

    const processing = runner.process(changeEvent({ id: 'eg-12' }));
    await settled();
    claim.open();

    await expect(processing).rejects.toBe(down);
    await settled();
    expect(calls.refresh).toHaveLength(1);
    expect(calls.restart).toEqual([]);
    expect(notified).toEqual([]);
  });

  it('a shared run restarts once for the event whose claim is won when the one that started it lost its claim', async () => {
    const shared = new MemoryIdempotencyStore();
    const other = fakePorts({ alpha: { derived: [ES] } });
    await runnerOver(other.ports, {}, shared).runner.process(changeEvent({ id: 'eg-a', version: 'v3' }));
    const { ports, calls } = fakePorts({ alpha: { derived: [ES], workloads: [restarted('alpha', 'api')] } });
    const { store, claim } = heldStore(shared);
    const { runner } = runnerOver(ports, {}, store);

    const lost = runner.process(changeEvent({ id: 'eg-a', version: 'v3' }));
    const won = runner.process(changeEvent({ id: 'eg-b', version: 'v3' }));
    await settled();
    claim.open();
    const outcomes = await Promise.all([lost, won]);

    expect(outcomes.map((o) => o.status)).toEqual(['duplicate', 'completed']);
    expect(outcomes[1]).toMatchObject({ sharedRunOf: 'eg-a', workloads: [restarted('alpha', 'api')] });
    expect(calls.refresh).toHaveLength(1);
    expect(calls.restart).toHaveLength(1);
  });

  it('a shared run that failed for now is reported once, for the event whose claim is won', async () => {
    const shared = new MemoryIdempotencyStore();
    const other = fakePorts({ alpha: { derived: [ES] } });
    await runnerOver(other.ports, {}, shared).runner.process(changeEvent({ id: 'eg-c', version: 'v4' }));
    const refreshFails = new TimeoutError('ExternalSecret app/db did not finish its refresh');
    const { ports } = fakePorts({ alpha: { derived: [ES], refreshFails } });
    const { store, claim } = heldStore(shared);
    const { runner, notified } = runnerOver(ports, {}, store);

    const lost = runner.process(changeEvent({ id: 'eg-c', version: 'v4' }));
    const won = runner.process(changeEvent({ id: 'eg-d', version: 'v4' }));
    await settled();
    claim.open();

    expect((await lost).status).toBe('duplicate');
    await expect(won).rejects.toBeInstanceOf(TransientError);
    await settled();
    expect(notified.map((o) => o.eventId)).toEqual(['eg-d']);
  });

  it('a rotation waits for the claim: a lost claim rotates nothing', async () => {
    const shared = new MemoryIdempotencyStore();
    const rotated = { status: 'rotated', newVersion: 'v2' } as const;
    const other = fakePorts({ alpha: { derived: [ES] } }, rotated);
    await runnerOver(other.ports, {}, shared).runner.rotate(KV_REF, { requestId: 'req-r' });
    const { ports, calls } = fakePorts({ alpha: { derived: [ES] } }, rotated);
    const { store, claim } = heldStore(shared);
    const { runner } = runnerOver(ports, {}, store);

    const rotating = runner.rotate(KV_REF, { requestId: 'req-r' });
    await settled();
    expect(calls.rotate).toEqual([]);
    claim.open();

    expect((await rotating).status).toBe('duplicate');
    await settled();
    expect(calls.rotate).toEqual([]);
    expect(other.calls.rotate).toHaveLength(1);
  });

  it('claims first when the queue has no idle place: a busy host forces nothing for an event it may not own', async () => {
    const held = deferred();
    const { ports, calls } = fakePorts({ alpha: { derived: [ES], gate: held.gate } });
    const { store, claim } = heldStore();
    const { runner } = runnerOver(ports, { concurrency: 1 }, store);

    const busy = runner.process(changeEvent({ id: 'eg-13' }));
    const waiting = runner.process(changeEvent({ id: 'eg-14' }));
    held.open();
    await settled();
    expect(calls.refresh).toHaveLength(1); // eg-13's run, started beside its claim
    claim.open();
    await Promise.all([busy, waiting]);

    expect(calls.refresh).toHaveLength(2);
  });

  it('a redelivery of an event this instance finished: nothing is forced or restarted again', async () => {
    const { ports, calls } = fakePorts({ alpha: { derived: [ES], workloads: [restarted('alpha', 'api')] } });
    const { runner } = runnerOver(ports);

    await runner.process(changeEvent({ id: 'eg-10' }));
    const again = await runner.process(changeEvent({ id: 'eg-10' }));

    expect(again.status).toBe('duplicate');
    expect(calls.refresh).toHaveLength(1);
    expect(calls.restart).toHaveLength(1);
  });
});

describe('Runner: finishing, manual requests and dry runs', () => {
  it('notifies real runs, never dry runs, and reports every outcome including duplicates', async () => {
    const { ports } = fakePorts({ alpha: { derived: [ES] } });
    const { runner, notified, reported } = runnerOver(ports);

    await runner.refresh(KV_REF, { requestId: 'req-1' });
    await runner.refresh(KV_REF, { requestId: 'req-1' });
    await runner.refresh(KV_REF, { requestId: 'req-2', dryRun: true });

    expect(notified.map((o) => o.eventId)).toEqual(['req-1']);
    expect(reported.map((o) => `${o.eventId}:${o.status}:${o.dryRun}`)).toEqual([
      'req-1:completed:false',
      'req-1:duplicate:false',
      'req-2:completed:true',
    ]);
  });

  it('refresh never rotates; rotate asks rotation for a new version', async () => {
    const { ports, calls } = fakePorts({ alpha: { derived: [ES] } }, { status: 'rotated', newVersion: 'v2' });
    const { runner } = runnerOver(ports);

    await runner.refresh(KV_REF);
    await runner.rotate(KV_REF);

    expect(calls.rotate).toEqual([{ ref: KV_REF, reason: 'rotate-requested' }]);
    expect(calls.resolve).toEqual(['alpha', 'alpha']);
  });

  it('does not record a dry run as done: the same request id then runs for real', async () => {
    const { ports, calls } = fakePorts({ alpha: { derived: [ES] } });
    const { runner } = runnerOver(ports);

    const dry = await runner.refresh(KV_REF, { requestId: 'req-3', dryRun: true });
    const real = await runner.refresh(KV_REF, { requestId: 'req-3' });

    expect([dry.dryRun, real.dryRun, real.status]).toEqual([true, false, 'completed']);
    expect(calls.refresh.map((r) => r.dryRun)).toEqual([true, false]);
  });

  it('makes every run a dry run when configured so (ROTOR_DRY_RUN)', async () => {
    const { ports, calls } = fakePorts({ alpha: { derived: [ES] } });
    const { runner, notified } = runnerOver(ports, { dryRun: true });

    const outcome = await runner.process(changeEvent({ id: 'eg-4' }));

    expect(outcome.dryRun).toBe(true);
    expect(calls.refresh.map((r) => r.dryRun)).toEqual([true]);
    expect(notified).toEqual([]);
  });

  it('logs and counts an ignored event', () => {
    const { ports } = fakePorts({});
    const { runner, logLines } = runnerOver(ports);

    runner.ignore({ id: 'eg-5', reason: 'key events are not secrets' }, 'eventgrid');

    expect(
      logLines.some((l) => l.includes('event ignored') && l.includes('key events are not secrets')),
    ).toBe(true);
  });
});

describe('Runner.drain: a shutdown answers every caller and gives back what cannot finish', () => {
  it('runs past the grace period are answered 503 with their claims released; a queued run never starts', async () => {
    const held = deferred();
    const store = new MemoryIdempotencyStore();
    const { ports, calls } = fakePorts({ alpha: { derived: [ES], gate: held.gate } });
    const { runner } = runnerOver(ports, {}, store);
    // 4 run (concurrency 4) and wait at the gate, the 5th waits for a place.
    const callers = Array.from({ length: 5 }, (_, i) =>
      runner.process(changeEvent({ id: `eg-${i}` })).catch((e: unknown) => e),
    );
    await new Promise((r) => setTimeout(r, 20));

    const report = await runner.drain(10);
    const answers = await Promise.all(callers);
    const late = await runner.process(changeEvent({ id: 'eg-late' })).catch((e: unknown) => e);

    expect(report.finished).toBe(0);
    expect(report.released.sort()).toEqual([
      'eventgrid:eg-0',
      'eventgrid:eg-1',
      'eventgrid:eg-2',
      'eventgrid:eg-3',
      'eventgrid:eg-4',
    ]);
    for (const answer of [...answers, late]) expect(answer).toBeInstanceOf(TransientError);
    expect(await store.get('eventgrid:eg-4')).toBeUndefined();
    held.open();
    await new Promise((r) => setTimeout(r, 20));
    expect(calls.refresh).toHaveLength(4);
    expect(await store.get('eventgrid:eg-late')).toBeUndefined();
  });
});
