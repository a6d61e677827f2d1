import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { WatchRequest } from '../../../../lib/kube/api/watch.js';
import type { ClusterClient } from '../../../../lib/kube/cluster.js';

/**
 * When a forced refresh opens its watches: the object's at once, the Warning Events' only
 * once the sync has taken EVENTS_WATCH_AFTER_MS (each watch is a new connection). The
 * watches are driven here by hand; the HTTP side of startWatch is tested against a real
 * API server (test/integration/operators).
 */
const opened: WatchRequest[] = [];
vi.mock('../../../../lib/kube/api/watch.js', () => ({
  startWatch: (request: WatchRequest) => {
    opened.push(request);
    return { stop: () => undefined };
  },
}));

const { awaitRefresh, EVENTS_WATCH_AFTER_MS } = await import(
  '../../../../lib/kube/operators/refresh-flow.js'
);
const { GVR } = await import('../../../../lib/kube/api/gvr.js');

const since = new Date('2030-01-01T10:00:05Z');
const client = { name: 'alpha', kc: {} } as unknown as ClusterClient;

function refresh(verdictDone: () => boolean) {
  return awaitRefresh(client, {
    gvr: GVR.externalSecret,
    namespace: 'app',
    name: 'db',
    resourceVersion: '10',
    evaluate: () => (verdictDone() ? { state: 'done' } : { state: 'pending' }),
    events: { version: '11', notBefore: since },
    deadline: Date.now() + 30_000,
    timeoutMs: 30_000,
    describe: () => 'pending',
  });
}

const watched = () => opened.map((r) => r.path);
const flush = () => vi.advanceTimersByTimeAsync(0);

describe('awaitRefresh: the Warning Event watch opens only for a sync that takes a while', () => {
  beforeEach(() => {
    opened.length = 0;
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('a sync the operator finishes sooner opens the object watch only', async () => {
    const result = refresh(() => true);
    await flush();
    opened[0]?.onEvent('MODIFIED', { metadata: { name: 'db', resourceVersion: '12' } });

    expect((await result).ok).toBe(true);
    await vi.advanceTimersByTimeAsync(EVENTS_WATCH_AFTER_MS * 2);
    expect(watched()).toEqual(['/apis/external-secrets.io/v1/namespaces/app/externalsecrets']);
  });

  it('a slower sync opens the Warning watch from the version read beside the force, and its warning fails the refresh', async () => {
    const result = refresh(() => false);
    await flush();
    expect(watched()).toHaveLength(1);

    await vi.advanceTimersByTimeAsync(EVENTS_WATCH_AFTER_MS);
    expect(watched()).toEqual([
      '/apis/external-secrets.io/v1/namespaces/app/externalsecrets',
      '/api/v1/namespaces/app/events',
    ]);
    expect(opened[1]?.params.resourceVersion).toBe('11');
    // Recorded before the watch opened (the stream replays from the version): still seen.
    opened[1]?.onEvent('ADDED', {
      reason: 'UpdateFailed',
      message: 'permission denied',
      lastTimestamp: '2030-01-01T10:00:05Z',
    });

    expect(await result).toMatchObject({
      ok: false,
      error: {
        code: 'sync_failed',
        message: expect.stringMatching(/the operator reported UpdateFailed: permission denied/),
      },
    });
  });
});
