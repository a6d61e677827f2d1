import { describe, expect, it } from 'vitest';
import type { WorkloadResult } from '../../lib/outcome.js';
import type { PipelinePorts } from '../../lib/pipeline.js';
import { Runner } from '../../lib/run.js';
import { PROGRESS_EVERY_MS, ProgressRecorder, parseProgress } from '../../lib/run-progress.js';
import type { RunnerSettings } from '../../lib/run-settings.js';
import { runStatus } from '../../lib/run-status.js';
import type { IdempotencyRecord, IdempotencyStore } from '../../lib/state/idempotency.js';
import { MemoryIdempotencyStore } from '../../lib/state/memory-idempotency.js';
import { createTelemetry } from '../../lib/telemetry.js';
import { testConfig } from './events/support.js';
import {
  changeEvent,
  ES,
  type FakeCluster,
  fakePorts,
  restarted,
  runnerTestSettings,
} from './support/fake-ports.js';
import { ManualTime } from './support/manual-time.js';

const EVENT = { source: 'eventgrid' as const, id: 'e-1' };

/** Claims that take every note for `held` keys, as LiveClaims does for the claims it holds. */
function claimsHolding(...held: string[]) {
  const notes: Array<{ key: string; progress: ReturnType<typeof parseProgress> }> = [];
  return {
    notes,
    note(key: string, progress: string) {
      if (!held.includes(key)) return false;
      notes.push({ key, progress: parseProgress(progress) });
      return true;
    },
  };
}

/** A recorder on a held claim that has heard of two steps. */
function resolvedSoFar() {
  const time = new ManualTime();
  const claims = claimsHolding('eventgrid:e-1');
  const recorder = new ProgressRecorder(claims, EVENT, time);
  recorder.marked({ step: 'received', atMs: 0 });
  recorder.marked({ step: 'resolved', atMs: 30, detail: 'alpha: 1 derived' });
  return { time, claims, recorder };
}

describe('ProgressRecorder: what a run finished, written beside it, rarely', () => {
  it('writes nothing for a run shorter than one period: its completion records everything', async () => {
    const { time, claims, recorder } = resolvedSoFar();

    await time.advance(PROGRESS_EVERY_MS - 1);
    recorder.close();
    await time.advance(PROGRESS_EVERY_MS * 4);

    expect(claims.notes).toEqual([]);
  });

  it('gathers every step of one period into one write, and writes again only after new steps', async () => {
    const { time, claims, recorder } = resolvedSoFar();

    recorder.marked({ step: 'refresh-forced', atMs: 40, detail: 'alpha' });
    await time.advance(PROGRESS_EVERY_MS);
    await time.advance(PROGRESS_EVERY_MS * 3); // nothing new: nothing written
    recorder.restarted([restarted('alpha', 'api')]);
    await time.advance(PROGRESS_EVERY_MS);

    expect(claims.notes.map((n) => n.key)).toEqual(['eventgrid:e-1', 'eventgrid:e-1']);
    expect(claims.notes[0]?.progress?.timeline.map((t) => t.step)).toEqual([
      'received',
      'resolved',
      'refresh-forced',
    ]);
    expect(claims.notes[0]?.progress?.workloads).toEqual([]);
    expect(claims.notes[1]?.progress?.workloads).toEqual([restarted('alpha', 'api')]);
  });

  it('tries again a period later while this process holds no claim for the event yet', async () => {
    const time = new ManualTime();
    const held: string[] = [];
    const written: string[] = [];
    const recorder = new ProgressRecorder(
      { note: (key, p) => held.includes(key) && written.push(p) > 0 },
      EVENT,
      time,
    );

    recorder.marked({ step: 'resolved', atMs: 5 });
    await time.advance(PROGRESS_EVERY_MS);
    expect(written).toEqual([]);
    held.push('eventgrid:e-1');
    await time.advance(PROGRESS_EVERY_MS);

    expect(written.map((p) => parseProgress(p)?.timeline)).toEqual([[{ step: 'resolved', atMs: 5 }]]);
  });

  it('keeps a record small: at most 50 results per list, and says how many were left out', () => {
    const recorder = new ProgressRecorder(claimsHolding(), EVENT, new ManualTime());
    const many: WorkloadResult[] = Array.from({ length: 120 }, (_, i) => restarted('alpha', `w-${i}`));

    recorder.restarted(many);
    recorder.close();

    const snapshot = recorder.snapshot();
    expect(snapshot.workloads).toHaveLength(50);
    expect(snapshot.omitted).toEqual({ refreshes: 0, workloads: 70 });
  });
});

function runnerOver(
  ports: PipelinePorts,
  store: IdempotencyStore,
  time: ManualTime,
  settings: Partial<RunnerSettings> = {},
) {
  return new Runner({
    ports,
    idempotency: store,
    clock: time,
    timers: time,
    telemetry: createTelemetry(testConfig().telemetry, { write: () => undefined }),
    notify: async () => undefined,
    settings: runnerTestSettings(settings),
  });
}

describe('Runner: a run in progress shows, in the state store, the steps it has finished', () => {
  it('another reader of the store sees cluster alpha resolved, refreshed and restarted while beta still resolves; then the outcome', async () => {
    const time = new ManualTime();
    let openBeta = () => {};
    const beta: FakeCluster = {
      derived: [ES],
      gate: new Promise<void>((r) => {
        openBeta = r;
      }),
      workloads: [restarted('beta', 'api')],
    };
    const { ports } = fakePorts({ alpha: { derived: [ES], workloads: [restarted('alpha', 'api')] }, beta });
    const store = new MemoryIdempotencyStore();
    const writes: IdempotencyRecord[] = [];
    const takeOver = store.takeOver.bind(store);
    store.takeOver = async (record, expiresAt, claimant) => {
      writes.push(record);
      return takeOver(record, expiresAt, claimant);
    };
    const runner = runnerOver(ports, store, time);

    const answered = runner.process(changeEvent({ id: 'e-1' }, time));
    await time.advance(PROGRESS_EVERY_MS);
    const [during] = await runStatus(store, 'e-1', time);

    expect(during).toMatchObject({ state: 'in-progress', source: 'eventgrid' });
    expect(during?.progress?.timeline.map((t) => `${t.step} ${t.detail ?? ''}`.trim())).toEqual([
      'received',
      'resolved alpha: 1 derived',
      'refresh-forced alpha',
      'secret-updated alpha: 1 changed',
      'workloads-patched alpha: 1',
    ]);
    expect(during?.progress?.refreshes).toEqual([
      expect.objectContaining({ status: 'refreshed', cluster: 'alpha', kind: 'ExternalSecret', name: 'db' }),
    ]);
    expect(during?.progress?.workloads).toEqual([restarted('alpha', 'api')]);
    expect(writes).toHaveLength(1); // one progress write for the whole period

    openBeta();
    const outcome = await answered;
    const [after] = await runStatus(store, 'e-1', time);

    expect(outcome.status).toBe('completed');
    expect(after?.state).toBe('completed');
    expect(after?.progress).toBeUndefined();
    expect(after?.outcome?.workloads.map((w) => w.cluster)).toEqual(['alpha', 'beta']);
  });

  it('records no progress for a dry run (nothing is claimed)', async () => {
    const time = new ManualTime();
    const { ports } = fakePorts({ alpha: { derived: [ES], workloads: [restarted('alpha', 'api')] } });
    const store = new MemoryIdempotencyStore();
    const runner = runnerOver(ports, store, time, { dryRun: true });

    await runner.dryRun(changeEvent({ id: 'e-dry' }, time));
    await time.advance(PROGRESS_EVERY_MS * 2);

    expect(time.pending).toBe(0);
    expect(await runStatus(store, 'e-dry', time)).toEqual([]);
  });
});
