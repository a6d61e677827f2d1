import {
  PatchStrategy,
  setHeaderOptions,
  type V1Deployment,
  type V1PodTemplateSpec,
} from '@kubernetes/client-node';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ClusterClient } from '../../../lib/kube/cluster.js';
import { createNamespace, kubeClient, testEnv } from '../../env/index.js';
import { HEALTHY_HASH_ANNOTATION } from '../../env/kube-controllers.js';

/**
 * The test clusters run kube-controller-manager, kube-scheduler and KWOK with fake nodes
 * (test/env/kube-controllers.ts): workloads really roll out, and a KWOK stage fails pods
 * whose STAKATER_* hash is not the one their template pins as healthy.
 */
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`not within ${timeoutMs} ms: ${what} (last error: ${String(last)})`);
    await sleep(100);
  }
}

function template(
  app: string,
  env: Record<string, string>,
  annotations?: Record<string, string>,
): V1PodTemplateSpec {
  return {
    metadata: { labels: { app }, annotations },
    spec: {
      containers: [
        {
          name: 'app',
          image: 'registry.invalid/app:1',
          env: Object.entries(env).map(([name, value]) => ({ name, value })),
        },
      ],
    },
  };
}

const envPatch = (value: string) => [
  { op: 'replace', path: '/spec/template/spec/containers/0/env/0/value', value },
];

/** JSON patch requests (client-node sends strategic-merge only when told). */
const jsonPatch = () => setHeaderOptions('Content-Type', PatchStrategy.JsonPatch);

describe('test clusters roll workloads out (kube-controller-manager, kube-scheduler, KWOK)', () => {
  let admin: ClusterClient;
  let ns: string;

  beforeAll(async () => {
    const cluster = testEnv().clusters[0];
    if (!cluster) throw new Error('no cluster');
    admin = kubeClient(cluster, 'admin');
    ns = await createNamespace(admin, 'env-rollouts');
  });

  /** A Deployment `name` of `replicas` on `tmpl` (the template with V=1 unless given). */
  const createDeployment = (
    name: string,
    replicas: number,
    tmpl: V1PodTemplateSpec = template(name, { V: '1' }),
    extra: { progressDeadlineSeconds?: number } = {},
  ) =>
    admin.apps.createNamespacedDeployment({
      namespace: ns,
      body: {
        metadata: { name },
        spec: { replicas, ...extra, selector: { matchLabels: { app: name } }, template: tmpl },
      },
    });
  /** Deployment `name` once `accept` holds for it. */
  const deploymentOnce = (
    what: string,
    name: string,
    accept: (d: V1Deployment) => boolean,
    timeoutMs?: number,
  ) =>
    eventually(
      what,
      async () => {
        const d = await admin.apps.readNamespacedDeployment({ namespace: ns, name });
        return accept(d) ? d : undefined;
      },
      timeoutMs,
    );

  it('a Deployment of 3 rolls out a changed template: new ReplicaSet, 3 Ready pods on it, the old one scaled to 0', async () => {
    await createDeployment('web', 3);
    const first = await deploymentOnce(
      '3 available replicas',
      'web',
      (d) => d.status?.availableReplicas === 3,
    );

    await admin.apps.patchNamespacedDeployment(
      { namespace: ns, name: 'web', body: envPatch('2') },
      jsonPatch(),
    );

    const rolled = await deploymentOnce(
      'rolled out on generation 2',
      'web',
      (d) => rolledOut(d) && (d.status?.observedGeneration ?? 0) > (first.metadata?.generation ?? 0),
    );
    const sets = await admin.apps.listNamespacedReplicaSet({ namespace: ns, labelSelector: 'app=web' });
    const bySpec = sets.items.map((rs) => ({
      v: rs.spec?.template?.spec?.containers?.[0]?.env?.[0]?.value,
      replicas: rs.status?.replicas ?? 0,
    }));
    expect(bySpec.sort((a, b) => String(a.v).localeCompare(String(b.v)))).toEqual([
      { v: '1', replicas: 0 },
      { v: '2', replicas: 3 },
    ]);
    const pods = await eventually('exactly 3 pods, all Ready on the new template', async () => {
      const list = await admin.core.listNamespacedPod({ namespace: ns, labelSelector: 'app=web' });
      const live = list.items.filter((p) => !p.metadata?.deletionTimestamp);
      return list.items.length === 3 &&
        live.every((p) => ready(p) && p.spec?.containers[0]?.env?.[0]?.value === '2')
        ? live
        : undefined;
    });
    expect(pods.map((p) => p.spec?.nodeName?.startsWith('kwok-node-'))).toEqual([true, true, true]);
    expect(rolled.status?.updatedReplicas).toBe(3);
  });

  it('a StatefulSet and a DaemonSet roll out a changed template', async () => {
    await admin.apps.createNamespacedStatefulSet({
      namespace: ns,
      body: {
        metadata: { name: 'db' },
        spec: {
          replicas: 2,
          serviceName: 'db',
          selector: { matchLabels: { app: 'db' } },
          template: template('db', { V: '1' }),
        },
      },
    });
    await admin.apps.createNamespacedDaemonSet({
      namespace: ns,
      body: {
        metadata: { name: 'agent' },
        spec: { selector: { matchLabels: { app: 'agent' } }, template: template('agent', { V: '1' }) },
      },
    });
    await eventually('StatefulSet 2 ready', async () => {
      const s = await admin.apps.readNamespacedStatefulSet({ namespace: ns, name: 'db' });
      return s.status?.readyReplicas === 2 ? s : undefined;
    });
    const ds0 = await eventually('DaemonSet ready on every fake node', async () => {
      const d = await admin.apps.readNamespacedDaemonSet({ namespace: ns, name: 'agent' });
      return d.status?.desiredNumberScheduled && d.status.numberReady === d.status.desiredNumberScheduled
        ? d
        : undefined;
    });
    expect(ds0.status?.desiredNumberScheduled).toBe(2);

    await admin.apps.patchNamespacedStatefulSet(
      { namespace: ns, name: 'db', body: envPatch('2') },
      jsonPatch(),
    );
    await admin.apps.patchNamespacedDaemonSet(
      { namespace: ns, name: 'agent', body: envPatch('2') },
      jsonPatch(),
    );

    const sts = await eventually('StatefulSet on its update revision', async () => {
      const s = await admin.apps.readNamespacedStatefulSet({ namespace: ns, name: 'db' });
      const st = s.status;
      return st &&
        st.observedGeneration === s.metadata?.generation &&
        st.updatedReplicas === 2 &&
        st.readyReplicas === 2 &&
        st.currentRevision === st.updateRevision
        ? s
        : undefined;
    });
    expect(sts.status?.updateRevision).toBeTruthy();
    const ds = await eventually('DaemonSet updated everywhere', async () => {
      const d = await admin.apps.readNamespacedDaemonSet({ namespace: ns, name: 'agent' });
      const st = d.status;
      return st &&
        st.observedGeneration === d.metadata?.generation &&
        st.updatedNumberScheduled === 2 &&
        st.numberAvailable === 2
        ? d
        : undefined;
    });
    expect(ds.status?.numberUnavailable ?? 0).toBe(0);
  });

  it('a Job completes, and deleting a Deployment garbage-collects its ReplicaSets and pods', async () => {
    await admin.batch.createNamespacedJob({
      namespace: ns,
      body: {
        metadata: { name: 'once' },
        spec: {
          template: {
            spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'registry.invalid/job:1' }] },
          },
        },
      },
    });
    await eventually('Job complete', async () => {
      const j = await admin.batch.readNamespacedJob({ namespace: ns, name: 'once' });
      return j.status?.succeeded === 1 ? j : undefined;
    });

    await createDeployment('gone', 2);
    await eventually('2 pods', async () => {
      const list = await admin.core.listNamespacedPod({ namespace: ns, labelSelector: 'app=gone' });
      return list.items.length === 2 ? list : undefined;
    });
    await admin.apps.deleteNamespacedDeployment({
      namespace: ns,
      name: 'gone',
      propagationPolicy: 'Background',
    });
    await eventually('ReplicaSets and pods collected', async () => {
      const [sets, pods] = await Promise.all([
        admin.apps.listNamespacedReplicaSet({ namespace: ns, labelSelector: 'app=gone' }),
        admin.core.listNamespacedPod({ namespace: ns, labelSelector: 'app=gone' }),
      ]);
      return sets.items.length === 0 && pods.items.length === 0 ? true : undefined;
    });
  });

  it('the crash stage: pods with an unhealthy STAKATER_* hash never get Ready, the Deployment reports ProgressDeadlineExceeded', async () => {
    const healthy = 'a'.repeat(40);
    const pinned = template(
      'fragile',
      { STAKATER_DB_SECRET: healthy },
      { [HEALTHY_HASH_ANNOTATION]: healthy },
    );
    await createDeployment('fragile', 2, pinned, { progressDeadlineSeconds: 5 });
    await deploymentOnce('healthy hash: 2 available', 'fragile', (d) => d.status?.availableReplicas === 2);

    await admin.apps.patchNamespacedDeployment(
      { namespace: ns, name: 'fragile', body: envPatch('b'.repeat(40)) },
      jsonPatch(),
    );

    const failed = await deploymentOnce(
      'ProgressDeadlineExceeded',
      'fragile',
      (d) =>
        d.status?.conditions?.find((x) => x.type === 'Progressing')?.reason === 'ProgressDeadlineExceeded',
      30_000,
    );
    expect(failed.status?.availableReplicas).toBe(2); // the old pods keep serving
    const pods = await admin.core.listNamespacedPod({ namespace: ns, labelSelector: 'app=fragile' });
    const crashing = pods.items.filter((p) =>
      p.status?.containerStatuses?.some((s) => s.state?.waiting?.reason === 'CrashLoopBackOff'),
    );
    expect(crashing.length).toBeGreaterThan(0);
    expect(crashing.every((p) => p.spec?.containers[0]?.env?.[0]?.value === 'b'.repeat(40))).toBe(true);
  });
});

function rolledOut(d: V1Deployment): boolean {
  const s = d.status;
  const want = d.spec?.replicas ?? 1;
  return (
    !!s &&
    s.observedGeneration === d.metadata?.generation &&
    s.updatedReplicas === want &&
    s.availableReplicas === want &&
    (s.replicas ?? 0) === want
  );
}

function ready(p: { status?: { conditions?: { type: string; status: string }[] } }): boolean {
  return p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}
