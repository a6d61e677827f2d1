import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { KubeObject } from '../../../../lib/kube/api/objects.js';
import type { WatchRequest } from '../../../../lib/kube/api/watch.js';
import type { ClusterClient } from '../../../../lib/kube/cluster.js';
import type { Tap as TapT } from '../../../../lib/kube/operators/shared-watch.js';

/**
 * A forced ExternalSecret's sync followed on the object cache's watch instead of a watch of
 * its own (each is a new connection on both ends): taken before the force, skipping what
 * precedes rotor's own write, and falling back to a watch from that write's version when
 * the shared stream has a gap or is too slow to show the write. Watches are driven by hand.
 */
const opened: WatchRequest[] = [];
vi.mock('../../../../lib/kube/api/watch.js', () => ({
  startWatch: (request: WatchRequest) => {
    opened.push(request);
    return { stop: () => undefined };
  },
}));

const { awaitRefresh } = await import('../../../../lib/kube/operators/refresh-flow.js');
const { Tap, OWN_WRITE_WITHIN_MS } = await import('../../../../lib/kube/operators/shared-watch.js');
const { ObjectCache } = await import('../../../../lib/kube/api/object-cache.js');
const { GVR } = await import('../../../../lib/kube/api/gvr.js');
const { esoOperator } = await import('../../../../lib/kube/operators/eso.js');

const list = async () => ({ items: [], metadata: { resourceVersion: '5' } });
const client = {
  name: 'alpha',
  kc: {},
  custom: { listClusterCustomObject: list, listNamespacedCustomObject: list },
} as unknown as ClusterClient;

const es = (rv: string, name = 'db'): KubeObject => ({
  metadata: { name, namespace: 'app', resourceVersion: rv },
});
const flush = () => vi.advanceTimersByTimeAsync(0);
/** The single-object watches a refresh opened on its own (the cache's has no field selector). */
const ownWatches = () => opened.filter((r) => r.params.fieldSelector === 'metadata.name=db');

async function followedCache() {
  const cache = new ObjectCache(client, { log: () => undefined });
  await cache.list(GVR.externalSecret);
  const shared = opened.at(-1) as WatchRequest;
  const tap = Tap.open((...a) => cache.listen(...a), GVR.externalSecret, 'app', 'db');
  return { cache, shared, tap };
}

/** The force wrote version 10; the operator's sync is version 12. */
function refresh(tap: TapT | undefined) {
  return awaitRefresh(client, {
    gvr: GVR.externalSecret,
    namespace: 'app',
    name: 'db',
    resourceVersion: '10',
    evaluate: (o) =>
      o.metadata?.resourceVersion === '12' || o.metadata?.resourceVersion === '9'
        ? { state: 'done' }
        : { state: 'pending' },
    ...(tap ? { tap } : {}),
    deadline: Date.now() + 30_000,
    timeoutMs: 30_000,
    describe: () => 'pending',
  });
}

describe('awaitRefresh on the object cache watch', () => {
  beforeEach(() => {
    opened.length = 0;
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('completes from the shared watch with no watch of its own, judging only what follows its own write', async () => {
    const { shared, tap } = await followedCache();
    expect(tap).toBeDefined();
    // Before the patch returns: an older change (that would look synced) and the write itself.
    shared.onEvent('MODIFIED', es('9'));
    shared.onEvent('MODIFIED', es('7', 'other'));
    shared.onEvent('MODIFIED', es('10'));
    const result = refresh(tap);
    await flush();
    shared.onEvent('MODIFIED', es('11'));
    shared.onEvent('MODIFIED', es('12'));

    const r = await result;
    expect(r.ok && r.object.metadata?.resourceVersion).toBe('12');
    expect(ownWatches()).toEqual([]);
  });

  it('falls back to a watch from its own write when the shared watch ends (a resume may skip events)', async () => {
    const { shared, tap } = await followedCache();
    shared.onEvent('MODIFIED', es('10'));
    const result = refresh(tap);
    await flush();
    shared.onDone(null);
    await flush();

    expect(ownWatches().map((r) => r.params.resourceVersion)).toEqual(['10']);
    ownWatches()[0]?.onEvent('MODIFIED', es('12'));
    const r = await result;
    expect(r.ok && r.object.metadata?.resourceVersion).toBe('12');
  });

  it('falls back when the shared watch has not shown its own write in time', async () => {
    const { shared, tap } = await followedCache();
    const result = refresh(tap);
    await flush();
    shared.onEvent('MODIFIED', es('9'));
    await vi.advanceTimersByTimeAsync(OWN_WRITE_WITHIN_MS - 1);
    expect(ownWatches()).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);

    expect(ownWatches().map((r) => r.params.resourceVersion)).toEqual(['10']);
    ownWatches()[0]?.onEvent('MODIFIED', es('12'));
    expect((await result).ok).toBe(true);
  });

  it('takes no tap while the cache does not watch the kind, and does not judge a gap-free deletion as a sync', async () => {
    const cache = new ObjectCache(client, { log: () => undefined });
    expect(Tap.open((...a) => cache.listen(...a), GVR.externalSecret, 'app', 'db')).toBeUndefined();

    const { shared, tap } = await followedCache();
    shared.onEvent('MODIFIED', es('10'));
    const result = refresh(tap);
    await flush();
    shared.onEvent('DELETED', es('11'));
    const r = await result;
    expect(r.ok).toBe(false);
    expect(!r.ok && r.error.message).toMatch(/ExternalSecret app\/db: deleted while waiting/);
  });
});

describe('the ESO operator follows a forced ExternalSecret on the object cache watch', () => {
  beforeEach(() => {
    opened.length = 0;
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('forces, then reports the sync seen on the shared watch, with no watch of its own', async () => {
    const cache = new ObjectCache(client, { log: () => undefined });
    await cache.list(GVR.externalSecret);
    const shared = opened.at(-1) as WatchRequest;
    const at = new Date('2030-01-01T10:00:05Z');
    const ready = { type: 'Ready', status: 'True', reason: 'SecretSynced' };
    const state = (rv: string, synced: string): KubeObject => ({
      ...es(rv),
      spec: { refreshInterval: '1h', target: { name: 'db' } },
      status: { syncedResourceVersion: synced, refreshTime: at.toISOString(), conditions: [ready] },
    });
    const eso = {
      ...client,
      core: {
        readNamespacedSecret: async () => ({ data: { password: 'b2xk' } }),
        listNamespacedEvent: async () => ({ metadata: { resourceVersion: '3' } }),
      },
      custom: {
        ...client.custom,
        // The API server's watch shows the write before its response arrives.
        patchNamespacedCustomObject: async () => {
          shared.onEvent('MODIFIED', state('10', 'old'));
          return state('10', 'old');
        },
      },
    } as unknown as ClusterClient;
    const derived = {
      cluster: 'alpha',
      operator: 'eso' as const,
      kind: 'ExternalSecret',
      namespace: 'app',
      name: 'db',
      targetSecret: 'db',
      warnings: [],
      forceable: true,
    };
    const output = esoOperator.refresh(eso, derived, {
      timeoutMs: 30_000,
      clock: { now: () => at },
      fieldManager: 'rotor',
      watched: (...a) => cache.listen(...a),
    });
    await flush();
    shared.onEvent('MODIFIED', state('12', 'new'));

    const { result } = await output;
    expect(result.map((r) => r.status)).toEqual(['refreshed']);
    expect(ownWatches()).toEqual([]);
  });
});
