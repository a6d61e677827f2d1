import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RELOADER, reloaderHash } from '../../../lib/kube/restart/index.js';
import { container, envOf, podSpec, type RestartFixture, restartFixture, rotorView } from './helpers.js';

const sha1 = (text: string) => createHash('sha1').update(text).digest('hex');
const AUTO = { [RELOADER.auto]: 'true' };
const ROLLOUTS = { group: 'argoproj.io', version: 'v1alpha1', plural: 'rollouts' } as const;
const CSI = { group: 'secrets-store.csi.x-k8s.io', version: 'v1' } as const;

describe('restart engine across workload kinds (real kube-apiserver, rotor identity)', () => {
  let f: RestartFixture;
  let ns: string;

  beforeAll(async () => {
    ({ f, ns } = await restartFixture('restart-kinds'));
    await f.createSecret(ns, 'db', { password: 'pw' });
  });
  afterAll(async () => f.closeAll());

  const createProviderClass = (name: string) =>
    f.admin.custom.createNamespacedCustomObject({
      ...CSI,
      plural: 'secretproviderclasses',
      namespace: ns,
      body: {
        apiVersion: 'secrets-store.csi.x-k8s.io/v1',
        kind: 'SecretProviderClass',
        metadata: { name },
        spec: { provider: 'azure', parameters: {} },
      },
    });

  const usesDb = () => [container('app', { envFrom: [{ secretRef: { name: 'db' } }] })];

  it('patches the template of a StatefulSet and a DaemonSet', async () => {
    await f.admin.apps.createNamespacedStatefulSet({
      namespace: ns,
      body: {
        metadata: { name: 'store', annotations: AUTO },
        spec: {
          serviceName: 'store',
          selector: { matchLabels: { app: 'store' } },
          template: { metadata: { labels: { app: 'store' } }, spec: podSpec(usesDb()) },
        },
      },
    });
    await f.admin.apps.createNamespacedDaemonSet({
      namespace: ns,
      body: {
        metadata: { name: 'agent', annotations: AUTO },
        spec: {
          selector: { matchLabels: { app: 'agent' } },
          template: { metadata: { labels: { app: 'agent' } }, spec: podSpec(usesDb()) },
        },
      },
    });

    const results = await f.engineFor().restart([f.change('Secret', ns, 'db')]);

    const byKind = Object.fromEntries(results.map((r) => [r.kind, r.status]));
    expect(byKind).toMatchObject({ StatefulSet: 'restarted', DaemonSet: 'restarted' });
    const sts = await f.admin.apps.readNamespacedStatefulSet({ namespace: ns, name: 'store' });
    const ds = await f.admin.apps.readNamespacedDaemonSet({ namespace: ns, name: 'agent' });
    expect(envOf(sts, 'app').STAKATER_DB_SECRET).toBe(sha1('password=pw'));
    expect(envOf(ds, 'app').STAKATER_DB_SECRET).toBe(sha1('password=pw'));
  });

  it('creates a Job from a CronJob (instantiate: manual, owner reference) once per hash, leaving the CronJob alone', async () => {
    const cronNs = await f.namespace('restart-cron');
    await f.createSecret(cronNs, 'db', { password: 'pw' });
    const cron = await f.admin.batch.createNamespacedCronJob({
      namespace: cronNs,
      body: {
        metadata: { name: 'nightly', annotations: AUTO },
        spec: {
          schedule: '0 3 * * *',
          jobTemplate: {
            metadata: { labels: { app: 'nightly' } },
            spec: { template: { spec: { ...podSpec(usesDb()), restartPolicy: 'Never' } } },
          },
        },
      },
    });
    const engine = f.engineFor();

    const first = await engine.restart([f.change('Secret', cronNs, 'db')]);
    const second = await engine.restart([f.change('Secret', cronNs, 'db')]);

    // The Job just created references the Secret too; as with Reloader it is evaluated like any
    // Job (not opted in: the CronJob's own annotations are not copied to it).
    const cronResult = (rs: typeof first) => rs.filter((r) => r.kind === 'CronJob').map((r) => r.status);
    expect(cronResult(first)).toEqual(['restarted']);
    expect(cronResult(second)).toEqual(['already-current']);
    const jobs = (await f.admin.batch.listNamespacedJob({ namespace: cronNs })).items;
    expect(jobs).toHaveLength(1);
    const job = jobs[0];
    expect(job?.metadata?.annotations?.['cronjob.kubernetes.io/instantiate']).toBe('manual');
    expect(job?.metadata?.labels?.app).toBe('nightly');
    expect(job?.metadata?.ownerReferences).toEqual([
      expect.objectContaining({
        kind: 'CronJob',
        name: 'nightly',
        uid: cron.metadata?.uid,
        controller: true,
      }),
    ]);
    expect(envOf(job ?? {}, 'app').STAKATER_DB_SECRET).toBe(sha1('password=pw'));
    const after = await f.admin.batch.readNamespacedCronJob({ namespace: cronNs, name: 'nightly' });
    expect(rotorView(after)).toEqual(rotorView(cron));
  });

  it('recreates a Job with the new hash (new uid, selector regenerated) and then leaves it alone', async () => {
    const jobNs = await f.namespace('restart-job');
    await f.createSecret(jobNs, 'db', { password: 'pw' });
    const old = await f.admin.batch.createNamespacedJob({
      namespace: jobNs,
      body: {
        metadata: { name: 'migrate', annotations: AUTO },
        spec: { template: { spec: { ...podSpec(usesDb()), restartPolicy: 'Never' } } },
      },
    });
    const engine = f.engineFor();

    const first = await engine.restart([f.change('Secret', jobNs, 'db')]);
    const second = await engine.restart([f.change('Secret', jobNs, 'db')]);

    expect([first[0]?.status, second[0]?.status]).toEqual(['restarted', 'already-current']);
    const job = await f.admin.batch.readNamespacedJob({ namespace: jobNs, name: 'migrate' });
    expect(job.metadata?.uid).not.toBe(old.metadata?.uid);
    expect(job.spec?.selector?.matchLabels?.['batch.kubernetes.io/controller-uid']).toBe(job.metadata?.uid);
    expect(job.metadata?.annotations?.[RELOADER.auto]).toBe('true');
    expect(envOf(job, 'app').STAKATER_DB_SECRET).toBe(sha1('password=pw'));
  });

  it('updates an Argo Rollout template, or only spec.restartAt with rollout-strategy: restart (once per hash)', async () => {
    const rollout = (name: string, annotations: Record<string, string>) => ({
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Rollout',
      metadata: { name, annotations },
      spec: {
        selector: { matchLabels: { app: name } },
        strategy: { canary: {} },
        template: { metadata: { labels: { app: name } }, spec: podSpec(usesDb()) },
      },
    });
    await f.admin.custom.createNamespacedCustomObject({
      ...ROLLOUTS,
      namespace: ns,
      body: rollout('canary', AUTO),
    });
    await f.admin.custom.createNamespacedCustomObject({
      ...ROLLOUTS,
      namespace: ns,
      body: rollout('restarter', { ...AUTO, [RELOADER.rolloutStrategy]: 'restart' }),
    });
    const engine = f.engineFor();

    const first = await engine.restart([f.change('Secret', ns, 'db')]);
    const second = await engine.restart([f.change('Secret', ns, 'db')]);

    const rollouts = (rs: typeof first) =>
      rs
        .filter((r) => r.kind === 'Rollout')
        .map((r) => [r.name, r.status])
        .sort();
    expect(rollouts(first)).toEqual([
      ['canary', 'restarted'],
      ['restarter', 'restarted'],
    ]);
    expect(rollouts(second)).toEqual([
      ['canary', 'already-current'],
      ['restarter', 'already-current'],
    ]);
    const canary = await f.admin.custom.getNamespacedCustomObject({
      ...ROLLOUTS,
      namespace: ns,
      name: 'canary',
    });
    const restarter = await f.admin.custom.getNamespacedCustomObject({
      ...ROLLOUTS,
      namespace: ns,
      name: 'restarter',
    });
    expect(envOf(canary, 'app').STAKATER_DB_SECRET).toBe(sha1('password=pw'));
    expect(envOf(restarter, 'app').STAKATER_DB_SECRET).toBeUndefined();
    expect(restarter.spec.restartAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  });

  it('restarts the mounter of a SecretProviderClass with the hash of its latest SecretProviderClassPodStatus', async () => {
    await createProviderClass('kv');
    const status = {
      secretProviderClassName: 'kv',
      podName: 'mounter-1',
      mounted: true,
      targetPath: '/x',
      objects: [{ id: 'secret/db', version: 'v7' }],
    };
    await f.admin.custom.createNamespacedCustomObject({
      ...CSI,
      plural: 'secretproviderclasspodstatuses',
      namespace: ns,
      body: {
        apiVersion: 'secrets-store.csi.x-k8s.io/v1',
        kind: 'SecretProviderClassPodStatus',
        metadata: { name: `mounter-1-${ns}-kv` },
        status,
      },
    });
    await f.createDeployment(
      ns,
      'mounter',
      podSpec(
        [container('app', { volumeMounts: [{ name: 'secrets', mountPath: '/mnt' }] })],
        [
          {
            name: 'secrets',
            csi: {
              driver: 'secrets-store.csi.k8s.io',
              readOnly: true,
              volumeAttributes: { secretProviderClass: 'kv' },
            },
          },
        ],
      ),
      { annotations: { 'secretproviderclass.reloader.stakater.com/auto': 'true' } },
    );

    const results = await f.engineFor().restart([f.change('SecretProviderClass', ns, 'kv')]);

    const expected = sha1('SecretProviderClassName=kv;secret/db=v7');
    expect(expected).toBe(reloaderHash({ kind: 'SecretProviderClassPodStatus', status }));
    expect(results).toEqual([
      expect.objectContaining({ name: 'mounter', status: 'restarted', hashes: [expected] }),
    ]);
    expect(envOf(await f.readDeployment(ns, 'mounter'), 'app').STAKATER_KV_SECRETPROVIDERCLASS).toBe(
      expected,
    );
  });

  it('keys an SPC restart on the new backend version while no pod has mounted it, once per version', async () => {
    await createProviderClass('kv2');
    await f.createDeployment(
      ns,
      'kv2-user',
      podSpec(
        [container('app', { volumeMounts: [{ name: 'secrets', mountPath: '/mnt' }] })],
        [
          {
            name: 'secrets',
            csi: { driver: 'secrets-store.csi.k8s.io', volumeAttributes: { secretProviderClass: 'kv2' } },
          },
        ],
      ),
      { annotations: AUTO },
    );
    const engine = f.engineFor();
    const rotated = { ...f.change('SecretProviderClass', ns, 'kv2'), backendVersion: 'v8' };

    const first = await engine.restart([rotated]);
    const again = await engine.restart([rotated]);
    const unversioned = await engine.restart([f.change('SecretProviderClass', ns, 'kv2')]);

    const expected = sha1('SecretProviderClassName=kv2;rotor.dev/backend-version=v8');
    expect(first).toEqual([
      expect.objectContaining({ name: 'kv2-user', status: 'restarted', hashes: [expected] }),
    ]);
    expect(again.map((r) => r.status)).toEqual(['already-current']);
    // Without a version and with no pod status there is nothing to hash: reported, not guessed.
    expect(unversioned[0]).toMatchObject({
      status: 'skipped',
      reason: expect.stringMatching(/no SecretProviderClassPodStatus/),
    });
  });
});
