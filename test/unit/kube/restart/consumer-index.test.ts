import { describe, expect, it } from 'vitest';
import type { ClusterClient } from '../../../../lib/kube/cluster.js';
import { ConsumerIndex } from '../../../../lib/kube/restart/consumer-index.js';
import { cronJobKind } from '../../../../lib/kube/restart/kinds/cronjob.js';
import { deploymentKind } from '../../../../lib/kube/restart/kinds/deployment.js';

// upsert/lookup/remove are pure bookkeeping; the list+watch side is covered by the integration tests.
const index = () => new ConsumerIndex({} as ClusterClient, [deploymentKind, cronJobKind], () => undefined);

const web = {
  metadata: { name: 'web', namespace: 'shop', annotations: {} },
  spec: {
    template: {
      spec: {
        containers: [{ name: 'app', envFrom: [{ secretRef: { name: 'db' } }] }],
        volumes: [{ name: 'v', configMap: { name: 'cfg' } }],
      },
    },
  },
};

describe('ConsumerIndex bookkeeping', () => {
  it('finds a workload by every resource its template references, in its namespace only', () => {
    const i = index();
    i.upsert(deploymentKind, web);
    expect(i.lookup('shop', 'SECRET', 'db')).toEqual([
      { kind: 'Deployment', namespace: 'shop', name: 'web' },
    ]);
    expect(i.lookup('shop', 'CONFIGMAP', 'cfg')).toHaveLength(1);
    expect(i.lookup('other', 'SECRET', 'db')).toEqual([]);
    expect(i.lookup('shop', 'CONFIGMAP', 'db')).toEqual([]);
  });

  it('finds a workload with a reload list for any resource of that type in its namespace', () => {
    const i = index();
    i.upsert(cronJobKind, {
      metadata: { name: 'nightly', namespace: 'shop' },
      spec: {
        jobTemplate: {
          spec: {
            template: {
              metadata: { annotations: { 'secret.reloader.stakater.com/reload': 'db-.*' } },
              spec: { containers: [{ name: 'c' }] },
            },
          },
        },
      },
    });
    expect(i.lookup('shop', 'SECRET', 'anything')).toEqual([
      { kind: 'CronJob', namespace: 'shop', name: 'nightly' },
    ]);
    expect(i.lookup('shop', 'CONFIGMAP', 'anything')).toEqual([]);
  });

  it('replaces the entries of a modified workload and forgets a removed one', () => {
    const i = index();
    i.upsert(deploymentKind, web);
    i.upsert(deploymentKind, {
      ...web,
      spec: {
        template: { spec: { containers: [{ name: 'app', envFrom: [{ secretRef: { name: 'db2' } }] }] } },
      },
    });
    expect(i.lookup('shop', 'SECRET', 'db')).toEqual([]);
    expect(i.lookup('shop', 'SECRET', 'db2')).toHaveLength(1);
    i.remove('Deployment/shop/web');
    expect(i.lookup('shop', 'SECRET', 'db2')).toEqual([]);
    expect(i.size).toBe(0);
  });

  it('ignores the delete event of an older incarnation once the new one is recorded (a recreated Job)', () => {
    const i = index();
    i.upsert(deploymentKind, { ...web, metadata: { ...web.metadata, uid: 'new' } });
    i.remove('Deployment/shop/web', 'old');
    expect(i.lookup('shop', 'SECRET', 'db')).toHaveLength(1);
    i.remove('Deployment/shop/web', 'new');
    expect(i.lookup('shop', 'SECRET', 'db')).toEqual([]);
  });

  it('keeps a reduced copy for pod-template kinds and none for kinds that are read whole', () => {
    const i = index();
    i.upsert(deploymentKind, web);
    expect(i.view({ kind: 'Deployment', namespace: 'shop', name: 'web' })?.metadata?.name).toBe('web');
    i.upsert(cronJobKind, {
      metadata: { name: 'n', namespace: 'shop' },
      spec: { jobTemplate: { spec: { template: { spec: {} } } } },
    });
    expect(i.view({ kind: 'CronJob', namespace: 'shop', name: 'n' })).toBeUndefined();
  });
});
