import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RELOADER } from '../../../lib/kube/restart/index.js';
import { HEALTHY_HASH_ANNOTATION } from '../../env/kube-controllers.js';
import { container, podSpec, type RestartFixture, restartFixture } from './helpers.js';

/**
 * The restart engine follows each restart to its end on the real controllers
 * (kube-controller-manager, kube-scheduler, KWOK): rolled-out once the new template is
 * fully available, rollout-failed when the controller gives up or the bound passes.
 */
const AUTO = { [RELOADER.auto]: 'true' };
const sha1 = (text: string) => createHash('sha1').update(text).digest('hex');
const spec = (secret: string) => podSpec([container('app', { envFrom: [{ secretRef: { name: secret } }] })]);

describe('rollout follow-up on real controllers', () => {
  let f: RestartFixture;
  let ns: string;

  beforeAll(async () => {
    ({ f, ns } = await restartFixture('rollout'));
  });
  afterAll(async () => f.closeAll());

  const tmpl = (app: string, secret: string, annotations?: Record<string, string>) => ({
    metadata: { labels: { app }, annotations },
    spec: spec(secret),
  });

  it('a Deployment of 3, a StatefulSet and a DaemonSet end rolled-out, every pod Ready on the new template', async () => {
    await f.createSecret(ns, 'db', { password: 'one' });
    await f.admin.apps.createNamespacedDeployment({
      namespace: ns,
      body: {
        metadata: { name: 'web', annotations: AUTO },
        spec: { replicas: 3, selector: { matchLabels: { app: 'web' } }, template: tmpl('web', 'db') },
      },
    });
    await f.admin.apps.createNamespacedStatefulSet({
      namespace: ns,
      body: {
        metadata: { name: 'store', annotations: AUTO },
        spec: {
          replicas: 2,
          serviceName: 'store',
          selector: { matchLabels: { app: 'store' } },
          template: tmpl('store', 'db'),
        },
      },
    });
    await f.admin.apps.createNamespacedDaemonSet({
      namespace: ns,
      body: {
        metadata: { name: 'agent', annotations: AUTO },
        spec: { selector: { matchLabels: { app: 'agent' } }, template: tmpl('agent', 'db') },
      },
    });
    const engine = f.engineFor();
    await f.updateSecret(ns, 'db', { password: 'two' });

    const results = await engine.restart([f.change('Secret', ns, 'db')]);
    const followed = await Promise.all(results.map((r) => engine.follow(r, 60_000)));

    expect(results.map((r) => `${r.kind}:${r.status}`).sort()).toEqual([
      'DaemonSet:restarted',
      'Deployment:restarted',
      'StatefulSet:restarted',
    ]);
    expect(followed.map((r) => r.status)).toEqual(['rolled-out', 'rolled-out', 'rolled-out']);
    for (const r of followed) expect(r.status === 'rolled-out' && r.ms).toBeLessThan(60_000);
    const pods = await f.admin.core.listNamespacedPod({ namespace: ns, labelSelector: 'app=web' });
    const live = pods.items.filter((p) => !p.metadata?.deletionTimestamp);
    expect(live).toHaveLength(3);
    for (const p of live) {
      expect(p.spec?.containers[0]?.env?.find((e) => e.name === 'STAKATER_DB_SECRET')?.value).toBe(
        sha1('password=two'),
      );
      expect(p.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
    }
  });

  it('a CronJob is followed through the Job created for it, to its completion', async () => {
    await f.createSecret(ns, 'batch', { k: 'v' });
    await f.admin.batch.createNamespacedCronJob({
      namespace: ns,
      body: {
        metadata: { name: 'nightly', annotations: AUTO },
        spec: {
          schedule: '0 3 * * *',
          jobTemplate: { spec: { template: { spec: { ...spec('batch'), restartPolicy: 'Never' } } } },
        },
      },
    });
    const engine = f.engineFor();

    const [result] = await engine.restart([f.change('Secret', ns, 'batch')]);
    expect(result).toMatchObject({
      kind: 'CronJob',
      status: 'restarted',
      job: expect.stringMatching(/^nightly-/),
    });
    const followed = await engine.follow(result as NonNullable<typeof result>, 60_000);

    expect(followed.status).toBe('rolled-out');
    const job = await f.admin.batch.readNamespacedJob({
      namespace: ns,
      name: (result as { job: string }).job,
    });
    expect(job.status?.succeeded).toBe(1);
  });

  it('detects a failed rollout within its bound: ProgressDeadlineExceeded from the controller, or Timeout', async () => {
    const healthy = sha1('password=good');
    await f.createSecret(ns, 'fragile', { password: 'good' });
    const fragile = (name: string, progressDeadlineSeconds: number) =>
      f.admin.apps.createNamespacedDeployment({
        namespace: ns,
        body: {
          metadata: { name, annotations: AUTO },
          spec: {
            replicas: 2,
            progressDeadlineSeconds,
            selector: { matchLabels: { app: name } },
            // The crash stage fails pods whose STAKATER_* hash is not the healthy one.
            template: {
              metadata: { labels: { app: name }, annotations: { [HEALTHY_HASH_ANNOTATION]: healthy } },
              spec: podSpec([
                container('app', {
                  envFrom: [{ secretRef: { name: 'fragile' } }],
                  env: [{ name: 'STAKATER_FRAGILE_SECRET', value: healthy }],
                }),
              ]),
            },
          },
        },
      });
    await fragile('deadline', 4);
    await fragile('patient', 600);
    const engine = f.engineFor();
    await f.updateSecret(ns, 'fragile', { password: 'bad' });

    const results = await engine.restart([f.change('Secret', ns, 'fragile')]);
    const byName = Object.fromEntries(results.map((r) => [r.name, r]));
    const [deadline, patient] = await Promise.all([
      engine.follow(byName.deadline as (typeof results)[number], 60_000),
      engine.follow(byName.patient as (typeof results)[number], 3_000),
    ]);

    expect(deadline).toMatchObject({ status: 'rollout-failed', reason: 'ProgressDeadlineExceeded' });
    expect(deadline.status === 'rollout-failed' && deadline.ms).toBeLessThan(30_000);
    expect(patient).toMatchObject({ status: 'rollout-failed', reason: 'Timeout' });
    expect(patient.status === 'rollout-failed' && patient.message).toMatch(/not rolled out within 3 s/);
  });
});
