import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConsumerIndex, WORKLOAD_KINDS } from '../../../lib/kube/restart/index.js';
import { container, podSpec, type RestartFixture, restartFixture, sleep } from './helpers.js';

async function eventually<T>(read: () => T, ok: (value: T) => boolean, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = read();
    if (ok(value) || Date.now() > deadline) return value;
    await sleep(25);
  }
}

describe('consumer index (list + watch as the rotor identity)', () => {
  let f: RestartFixture;
  let index: ConsumerIndex;
  let ns: string;
  const warnings: string[] = [];

  beforeAll(async () => {
    ({ f, ns } = await restartFixture('restart-index'));
    await f.createDeployment(
      ns,
      'before',
      podSpec([container('app', { envFrom: [{ secretRef: { name: 'db' } }] })]),
    );
    index = new ConsumerIndex(f.rotor, WORKLOAD_KINDS, (level, msg) => {
      if (level !== 'debug') warnings.push(msg);
    });
    await index.start();
  });
  afterAll(async () => index?.close());

  it('lists every workload kind the rotor identity may read, without warnings', () => {
    expect(index.lookup(ns, 'SECRET', 'db')).toEqual([{ kind: 'Deployment', namespace: ns, name: 'before' }]);
    expect(warnings).toEqual([]);
  });

  it('picks up a workload created after start through the watch', async () => {
    await f.admin.batch.createNamespacedCronJob({
      namespace: ns,
      body: {
        metadata: { name: 'later' },
        spec: {
          schedule: '0 0 * * *',
          jobTemplate: {
            spec: {
              template: {
                spec: {
                  ...podSpec([container('c', { envFrom: [{ secretRef: { name: 'db' } }] })]),
                  restartPolicy: 'Never',
                },
              },
            },
          },
        },
      },
    });
    const found = await eventually(
      () => index.lookup(ns, 'SECRET', 'db'),
      (r) => r.length === 2,
    );
    expect(found.map((r) => r.kind).sort()).toEqual(['CronJob', 'Deployment']);
  });

  it('follows a template that stops referencing a Secret, and a deleted workload', async () => {
    // The controllers write the Deployment's status meanwhile: a stale read is read again (409).
    for (let attempt = 1; ; attempt++) {
      const read = await f.admin.apps.readNamespacedDeployment({ namespace: ns, name: 'before' });
      const replaced = await f.admin.apps
        .replaceNamespacedDeployment({
          namespace: ns,
          name: 'before',
          body: {
            ...read,
            spec: {
              selector: { matchLabels: { app: 'before' } },
              template: {
                metadata: { labels: { app: 'before' } },
                spec: podSpec([container('app', { envFrom: [{ secretRef: { name: 'other' } }] })]),
              },
            },
          },
        })
        .catch((error: { code?: number }) => {
          if (error.code !== 409 || attempt >= 5) throw error;
        });
      if (replaced) break;
    }
    await f.admin.batch.deleteNamespacedCronJob({ namespace: ns, name: 'later' });

    expect(
      await eventually(
        () => index.lookup(ns, 'SECRET', 'db'),
        (r) => r.length === 0,
      ),
    ).toEqual([]);
    expect(
      await eventually(
        () => index.lookup(ns, 'SECRET', 'other'),
        (r) => r.length === 1,
      ),
    ).toHaveLength(1);
  });
});
