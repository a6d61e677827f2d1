import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { KubeObject } from '../../../../lib/kube/api/objects.js';
import type { WatchRequest } from '../../../../lib/kube/api/watch.js';
import type { ClusterClient } from '../../../../lib/kube/cluster.js';
import type { Tap as TapT } from '../../../../lib/kube/operators/shared-watch.js';

/**
 * A forced ExternalSecret's or VaultStaticSecret's sync followed on the object cache's
 * watch instead of a watch of its own (each is a new connection on both ends): taken before
 * the force, skipping what precedes rotor's own write, and falling back to a watch from
 * that write's version when the shared stream has a gap or is too slow to show the write.
 * Watches are driven by hand.
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
const { vsoOperator } = await import('../../../../lib/kube/operators/vso.js');

const list = async () => ({ items: [], metadata: { resourceVersion: '5' } });
const client = {
  name: 'alpha',
  kc: {},
  custom: { listClusterCustomObject: list, listNamespacedCustomObject: list },
} as unknown as ClusterClient;

/** The cluster as an operator's refresh sees it: a target Secret, the events' version, its own object calls. */
const operatorClient = (custom: Record<string, unknown>) =>
  ({
    ...client,
    core: {
      readNamespacedSecret: async () => ({ data: { password: 'b2xk' } }),
      listNamespacedEvent: async () => ({ metadata: { resourceVersion: '3' } }),
    },
    custom: { ...client.custom, ...custom },
  }) as unknown as ClusterClient;
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

// Every case starts with no watch opened, on fake timers.
beforeEach(() => {
  opened.length = 0;
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('awaitRefresh on the object cache watch', () => {
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
    expect(!r.ok && r.error.message).toMatch(
      /^ExternalSecret app\/db: db was deleted while waiting for its refresh/,
    );
  });
});

describe('the ESO operator follows a forced ExternalSecret on the object cache watch', () => {
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
    const eso = operatorClient({
      // The API server's watch shows the write before its response arrives.
      patchNamespacedCustomObject: async () => {
        shared.onEvent('MODIFIED', state('10', 'old'));
        return state('10', 'old');
      },
    });
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

describe('the VSO operator follows a forced VaultStaticSecret on the object cache watch', () => {
  const at = new Date('2030-01-01T10:00:05Z');
  const earlier = new Date(at.getTime() - 60_000);
  /** A VaultStaticSecret whose last reconcile renewed Ready at `readyAt`. */
  const vss = (rv: string, readyAt: Date, mac: string): KubeObject => ({
    metadata: { name: 'db', namespace: 'app', resourceVersion: rv, generation: 1 },
    spec: { type: 'kv-v2', mount: 'kv', path: 'db', destination: { name: 'db' } },
    status: {
      lastGeneration: 1,
      secretMAC: mac,
      conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: readyAt.toISOString() }],
    },
  });
  const derived = {
    cluster: 'alpha',
    operator: 'vso' as const,
    kind: 'VaultStaticSecret',
    namespace: 'app',
    name: 'db',
    targetSecret: 'db',
    warnings: [],
    forceable: true,
  };

  async function forcedOnCache(
    patch: (shared: WatchRequest) => Promise<KubeObject>,
    taps = { open: 0 },
    reads: string[] = [],
  ) {
    const cache = new ObjectCache(client, { log: () => undefined });
    await cache.list(GVR.vaultStaticSecret);
    const shared = opened.at(-1) as WatchRequest;
    const vso = operatorClient({
      getNamespacedCustomObject: async () => {
        reads.push('VaultStaticSecret');
        return vss('8', earlier, 'old');
      },
      patchNamespacedCustomObject: () => patch(shared),
    });
    const output = vsoOperator.refresh(vso, derived, {
      timeoutMs: 30_000,
      clock: { now: () => at },
      fieldManager: 'rotor',
      watched: (...a) => {
        const off = cache.listen(...a);
        if (off) taps.open++;
        return (
          off &&
          (() => {
            taps.open--;
            off();
          })
        );
      },
    });
    await flush();
    return { shared, output };
  }

  it('forces, then reports the sync seen on the shared watch, with no watch of its own', async () => {
    const { shared, output } = await forcedOnCache(async (shared) => {
      // The API server's watch shows the write before its response arrives.
      shared.onEvent('MODIFIED', vss('10', earlier, 'old'));
      return vss('10', earlier, 'old');
    });
    expect(ownWatches()).toEqual([]);
    shared.onEvent('MODIFIED', vss('12', at, 'new'));

    const { result } = await output;
    expect(result.map((r) => r.status)).toEqual(['refreshed']);
    expect(ownWatches()).toEqual([]);
  });

  it('reads nothing of the VaultStaticSecret before its force: the resolve read its spec, the patch answers with its state', async () => {
    const reads: string[] = [];
    const { shared, output } = await forcedOnCache(
      async (shared) => {
        shared.onEvent('MODIFIED', vss('10', earlier, 'old'));
        return vss('10', earlier, 'old');
      },
      { open: 0 },
      reads,
    );
    shared.onEvent('MODIFIED', vss('12', at, 'new'));

    const { result } = await output;
    expect(result).toEqual([
      expect.objectContaining({ status: 'refreshed', targetSecret: 'db', secretChanged: false }),
    ]);
    expect(reads).toEqual([]);
  });

  it('judges nothing before its own write: an earlier renewed Ready on the shared watch is not the forced sync', async () => {
    // A reconcile of the operator's own (renewed Ready, in the force's second) lands on the
    // stream before rotor's write: only what follows the write is the force's.
    const { shared, output } = await forcedOnCache(async (shared) => {
      shared.onEvent('MODIFIED', vss('9', at, 'polled'));
      shared.onEvent('MODIFIED', vss('10', earlier, 'old'));
      return vss('10', earlier, 'old');
    });
    let settled = false;
    void output.then(() => {
      settled = true;
    });
    await flush();
    expect(settled).toBe(false);
    expect(ownWatches()).toEqual([]);
    shared.onEvent('MODIFIED', vss('12', at, 'new'));

    expect((await output).result.map((r) => r.status)).toEqual(['refreshed']);
    expect(ownWatches()).toEqual([]);
  });

  it('falls back to a watch from its own write when the shared watch ends before the sync', async () => {
    const { shared, output } = await forcedOnCache(async (shared) => {
      shared.onEvent('MODIFIED', vss('10', earlier, 'old'));
      return vss('10', earlier, 'old');
    });
    shared.onDone(null);
    await flush();

    expect(ownWatches().map((r) => r.params.resourceVersion)).toEqual(['10']);
    ownWatches()[0]?.onEvent('MODIFIED', vss('12', at, 'new'));
    expect((await output).result.map((r) => r.status)).toEqual(['refreshed']);
  });

  it('leaves no listener on the shared watch when the force fails', async () => {
    const taps = { open: 0 };
    const { output } = await forcedOnCache(async () => {
      throw Object.assign(new Error('conflict'), { code: 409 });
    }, taps);

    expect((await output).result.map((r) => r.status)).toEqual(['failed']);
    expect(taps.open).toBe(0);
  });
});
