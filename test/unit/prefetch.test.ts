import { describe, expect, it } from 'vitest';
import type { ChangedResource } from '../../lib/kube/changed-resource.js';
import { Coalescer } from '../../lib/kube/restart/coalescer.js';
import type { WorkloadResult } from '../../lib/outcome.js';
import type { PipelinePorts } from '../../lib/pipeline.js';
import { Prefetch } from '../../lib/prefetch.js';
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
import { ManualTime, settle } from './support/manual-time.js';

const WORKLOAD = 'Deployment/app/web';

/**
 * One Deployment consuming `secrets` Secrets, each derived by its own ExternalSecret; the
 * restart step is the restart engine's coalescer (window `windowMs`) over one workload key.
 * Each refresh waits until the test says its Secret synced.
 */
function workloadOfManySecrets(secrets: number, windowMs: number) {
  const time = new ManualTime(0);
  const synced: string[] = [];
  const syncs = new Map<string, () => void>();
  const batches: Array<{ items: string[]; syncedBefore: number; atMs: number }> = [];
  const coalescer = new Coalescer<string, WorkloadResult>(
    windowMs,
    async (_key, items) => {
      batches.push({ items, syncedBefore: synced.length, atMs: time.nowMs });
      return restarted('alpha', 'web');
    },
    time,
    time.monotonic,
  );
  const { ports } = fakePorts({ alpha: {} });
  ports.resolve = async (_cluster, ref) => [{ ...ES, name: (ref as { name: string }).name }];
  ports.announce = () => coalescer.expect([WORKLOAD]);
  const refresh = ports.refresh;
  ports.refresh = async (cluster, derived, options) => {
    const name = derived[0]?.name ?? '';
    await new Promise<void>((resolve) => syncs.set(name, resolve));
    synced.push(name);
    return refresh(cluster, derived, options);
  };
  ports.restart = async (_cluster, changed: ChangedResource[], options) => {
    const all = changed.map((c) => coalescer.submit(WORKLOAD, c.name, options.announcement));
    options.announcement?.release();
    return [await (all.at(-1) as Promise<WorkloadResult>)];
  };
  const events = Array.from({ length: secrets }, (_, i) =>
    changeEvent({
      id: `eg-${i}`,
      ref: { backend: 'azure-keyvault', vault: 'sample-kv', name: `s-${i}` },
      version: 'v1',
    }),
  );
  /** Syncs each Secret whose refresh is running, in order, `gapMs` apart, until all have. */
  const syncAll = async (gapMs: number) => {
    for (let i = 0; i < secrets; ) {
      const sync = syncs.get(`s-${i}`);
      if (sync) {
        syncs.delete(`s-${i}`);
        sync();
        i++;
      }
      await time.advance(gapMs);
    }
  };
  return { ports, events, time, batches, syncAll };
}

function runnerOver(ports: PipelinePorts, concurrency: number) {
  return new Runner({
    ports,
    idempotency: new MemoryIdempotencyStore(),
    clock: new ManualClock(),
    telemetry: createTelemetry(testConfig().telemetry, { write: () => undefined }),
    notify: async () => undefined,
    settings: runnerTestSettings({ concurrency }),
  });
}

describe('Prefetch + Runner: a burst of changes to one workload', () => {
  it('restarts a Deployment whose 10 Secrets change in one burst once, after the last one synced, with fewer run places than Secrets', async () => {
    const { ports, events, batches, syncAll } = workloadOfManySecrets(10, 200);
    const runner = runnerOver(ports, 4);

    const outcomes = Promise.all(events.map((e) => runner.process(e)));
    // The Secrets sync 100 ms apart: the whole burst is far longer than the 200 ms window.
    await syncAll(100);
    const done = await outcomes;

    expect(batches).toHaveLength(1);
    expect(batches[0]?.items.sort()).toEqual(events.map((_, i) => `s-${i}-secret`).sort());
    expect(batches[0]?.syncedBefore).toBe(10);
    expect(done.map((o) => o.workloads[0]?.status)).toEqual(Array(10).fill('restarted'));
  });

  it('restarts a lone change at once: nothing else is announced, so nothing is waited for', async () => {
    const { ports, events, time, batches, syncAll } = workloadOfManySecrets(1, 200);
    const runner = runnerOver(ports, 4);

    const outcome = runner.process(events[0] as (typeof events)[number]);
    await syncAll(0);
    await outcome;

    expect(batches).toEqual([{ items: ['s-0-secret'], syncedBefore: 1, atMs: 0 }]);
    expect(time.pending).toBe(0);
  });
});

describe('Prefetch.leaveQueueWith: when the run is past refreshing', () => {
  it('calls back once every cluster has refreshed, found nothing derived, or failed', async () => {
    const gates: Record<string, () => void> = {};
    const { ports } = fakePorts({
      alpha: { derived: [ES] },
      beta: {},
      gamma: { fail: new Error('unreachable') },
    });
    const refresh = ports.refresh;
    ports.refresh = async (cluster, derived, options) => {
      await new Promise<void>((resolve) => {
        gates[cluster] = resolve;
      });
      return refresh(cluster, derived, options);
    };
    const prefetch = new Prefetch(ports, changeEvent(), { announce: false });
    let calls = 0;
    const run = prefetch.leaveQueueWith(() => calls++).runPorts();
    const resolved = await Promise.allSettled(
      ['alpha', 'beta', 'gamma'].map((c) => run.resolve(c, ES as never)),
    );
    await settle();
    expect(resolved.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected']);
    expect(calls).toBe(0); // alpha still refreshing
    const refreshing = run.refresh('alpha', [ES], {
      dryRun: false,
      onForced: () => {},
      event: changeEvent(),
    });
    await settle();
    expect(calls).toBe(0);
    gates.alpha?.();
    await refreshing;
    await settle();
    expect(calls).toBe(1);
  });
});
