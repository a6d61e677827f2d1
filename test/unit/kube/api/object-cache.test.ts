import { ApiException } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { GVR } from '../../../../lib/kube/api/gvr.js';
import { ObjectCache } from '../../../../lib/kube/api/object-cache.js';
import type { KubeObject } from '../../../../lib/kube/api/objects.js';
import type { WatchPhase, WatchRequest } from '../../../../lib/kube/api/watch.js';
import type { ClusterClient } from '../../../../lib/kube/cluster.js';

/**
 * The object cache and its informers against a scripted API: what is listed (and where),
 * what a watch event changes, and what a broken watch or a failed list makes it do. The
 * same code on the real API server: test/integration/kube/object-cache.test.ts.
 */

type Query = { plural: string; namespace?: string; resourceVersion?: string };

function obj(name: string, namespace = 'shop', rv = '1'): KubeObject {
  return { metadata: { name, namespace, resourceVersion: rv, managedFields: [{ manager: 'x' }] } };
}

class FakeApi {
  /** Collections by `plural` or `plural/namespace`; a function throws instead. */
  readonly collections = new Map<string, KubeObject[] | (() => never)>();
  readonly lists: Query[] = [];
  readonly watches: { request: WatchRequest; stopped: boolean }[] = [];
  rv = 10;

  client(): ClusterClient {
    const list = async (q: Query) => {
      this.lists.push({ plural: q.plural, ...(q.namespace ? { namespace: q.namespace } : {}) });
      const found = this.collections.get(q.namespace ? `${q.plural}/${q.namespace}` : q.plural) ?? [];
      if (typeof found === 'function') found();
      return { items: found, metadata: { resourceVersion: String(this.rv) } };
    };
    return {
      name: 'fake',
      kc: {},
      custom: { listClusterCustomObject: list, listNamespacedCustomObject: list },
    } as unknown as ClusterClient;
  }

  readonly watch = (request: WatchRequest) => {
    const entry = { request, stopped: false };
    this.watches.push(entry);
    return {
      stop() {
        entry.stopped = true;
      },
    };
  };

  last(): WatchRequest {
    const w = this.watches.at(-1);
    if (!w) throw new Error('no watch was opened');
    return w.request;
  }

  send(phase: WatchPhase, o: unknown): void {
    this.last().onEvent(phase, o);
  }
}

const forbidden = () => {
  throw new ApiException(403, 'Forbidden', { message: 'forbidden' }, {});
};

function cache(api: FakeApi, namespaces?: string[]) {
  const logs: string[] = [];
  const c = new ObjectCache(api.client(), {
    ...(namespaces ? { namespaces } : {}),
    log: (level, msg) => logs.push(`${level} ${msg}`),
    watch: api.watch,
  });
  return { c, logs };
}

const names = (items: KubeObject[]) =>
  items.map((o) => `${o.metadata?.namespace}/${o.metadata?.name}`).sort();
const tick = () => new Promise((r) => setTimeout(r, 0));

describe('object cache', () => {
  it('lists a kind once, then answers from memory while the watch keeps it current', async () => {
    const api = new FakeApi();
    api.collections.set('externalsecrets', [obj('a'), obj('b')]);
    const { c } = cache(api);

    const first = await c.list(GVR.externalSecret);
    api.send('ADDED', obj('late', 'shop', '11'));
    api.send('DELETED', obj('a', 'shop', '12'));
    api.send('MODIFIED', { ...obj('b', 'shop', '13'), spec: { v: 2 } });
    const second = await c.list(GVR.externalSecret);

    expect(names(first.items)).toEqual(['shop/a', 'shop/b']);
    expect(names(second.items)).toEqual(['shop/b', 'shop/late']);
    expect(second.items.find((o) => o.metadata?.name === 'b')?.spec).toEqual({ v: 2 });
    expect(second.items.every((o) => o.metadata?.managedFields === undefined)).toBe(true);
    expect(api.lists).toHaveLength(1);
    expect(api.last().path).toBe('/apis/external-secrets.io/v1/externalsecrets');
    expect(api.last().params.resourceVersion).toBe('10');
  });

  it('tells what it holds of one object without listing a kind it does not follow yet', async () => {
    const api = new FakeApi();
    api.collections.set('externalsecrets', [
      { ...obj('a'), metadata: { ...obj('a').metadata, uid: 'uid-a' } },
    ]);
    const { c } = cache(api);

    expect(c.known(GVR.externalSecret, 'shop', 'a')).toBeUndefined();
    expect(api.lists).toHaveLength(0);
    await c.list(GVR.externalSecret);
    expect(c.known(GVR.externalSecret, 'shop', 'a')?.metadata?.uid).toBe('uid-a');
    expect(c.known(GVR.externalSecret, 'shop', 'gone')).toBeUndefined();
    expect(c.known(GVR.secretStore, 'shop', 'a')).toBeUndefined();
    expect(api.lists).toHaveLength(1);
  });

  it('relists when the watch history is gone (410) and drops what disappeared meanwhile', async () => {
    const api = new FakeApi();
    api.collections.set('externalsecrets', [obj('a'), obj('b')]);
    const { c } = cache(api);
    await c.list(GVR.externalSecret);

    api.collections.set('externalsecrets', [obj('b'), obj('c')]);
    api.rv = 20;
    api.send('ERROR', { kind: 'Status', code: 410 });
    api.last().onDone(null);
    await tick();

    expect(api.lists).toHaveLength(2);
    expect(names((await c.list(GVR.externalSecret)).items)).toEqual(['shop/b', 'shop/c']);
    expect(api.last().params.resourceVersion).toBe('20');
  });

  it('resumes a watch that broke from the last version it saw, without listing again', async () => {
    const api = new FakeApi();
    const { c } = cache(api);
    await c.list(GVR.vaultStaticSecret);
    api.send('ADDED', obj('x', 'shop', '15'));

    api.last().onDone(null);
    await new Promise((r) => setTimeout(r, 5));

    expect(api.watches).toHaveLength(2);
    expect(api.last().params.resourceVersion).toBe('15');
    expect(api.lists).toHaveLength(1);
  });

  it('makes a run wait for the first list, and reports a failed one instead of an empty answer', async () => {
    const api = new FakeApi();
    api.collections.set('secretstores', () => {
      throw new ApiException(500, 'boom', { message: 'etcd is down' }, {});
    });
    const { c } = cache(api);

    await expect(c.list(GVR.secretStore)).rejects.toThrow(/list secretstores.external-secrets.io: HTTP 500/);
    // A second event within seconds does not list again: the failure is reported as it was.
    await expect(c.list(GVR.secretStore)).rejects.toThrow(/HTTP 500/);
    expect(api.lists).toHaveLength(1);
    c.close();
  });

  it('answers empty for a kind the cluster does not serve (operator not installed)', async () => {
    const api = new FakeApi();
    api.collections.set('vaultauths', () => {
      throw new ApiException(404, 'Not Found', {}, {});
    });
    const { c } = cache(api);

    expect(await c.list(GVR.vaultAuth)).toEqual({ items: [] });
    c.close();
  });

  it('in namespaced mode lists and watches namespaced kinds in each configured namespace only', async () => {
    const api = new FakeApi();
    api.collections.set('externalsecrets/team-a', [obj('a', 'team-a')]);
    api.collections.set('externalsecrets/team-b', [obj('b', 'team-b')]);
    api.collections.set('externalsecrets', [obj('x', 'kube-system')]);
    const { c } = cache(api, ['team-a', 'team-b']);

    const listed = await c.list(GVR.externalSecret);

    expect(names(listed.items)).toEqual(['team-a/a', 'team-b/b']);
    expect(api.lists).toEqual([
      { plural: 'externalsecrets', namespace: 'team-a' },
      { plural: 'externalsecrets', namespace: 'team-b' },
    ]);
    expect(api.watches.map((w) => w.request.path)).toEqual([
      '/apis/external-secrets.io/v1/namespaces/team-a/externalsecrets',
      '/apis/external-secrets.io/v1/namespaces/team-b/externalsecrets',
    ]);
  });

  it('in namespaced mode skips a cluster-scoped kind it may not list, with one warning, and fails in cluster mode', async () => {
    const api = new FakeApi();
    api.collections.set('clustersecretstores', forbidden);
    const namespaced = cache(api, ['team-a']);
    const clusterWide = cache(api);

    const skipped = await namespaced.c.list(GVR.clusterSecretStore);
    const again = await namespaced.c.list(GVR.clusterSecretStore);

    expect(skipped.items).toEqual([]);
    expect(skipped.unreadable).toMatch(/may not list clustersecretstores.*cluster-scoped.yaml/);
    expect(again.unreadable).toBe(skipped.unreadable);
    expect(namespaced.logs.filter((l) => l.startsWith('warn') && /namespaced mode/.test(l))).toHaveLength(1);
    await expect(clusterWide.c.list(GVR.clusterSecretStore)).rejects.toThrow(/forbidden/);
    namespaced.c.close();
    clusterWide.c.close();
  });

  it('stops every watch on close', async () => {
    const api = new FakeApi();
    const { c } = cache(api, ['team-a', 'team-b']);
    await c.list(GVR.vaultStaticSecret);

    c.close();

    expect(api.watches.map((w) => w.stopped)).toEqual([true, true]);
  });
});
