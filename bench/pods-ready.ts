/**
 * Event → every pod of a 3-replica Deployment Ready on the new template, on the real
 * controllers of the test environment (kube-controller-manager, kube-scheduler, KWOK fake
 * nodes), beside the poll baseline.
 *
 *   npx tsx bench/pods-ready.ts            (ROTOR_BENCH_PODS_EVENTS changes, default 100)
 *
 * Per change of the sample's Key Vault secret, POSTed as Event Grid delivers it, timed on
 * the bench's clock from the POST: the pod template patched (a watch), and every live pod of
 * the Deployment carrying the new Secret's Reloader hash and Ready, old pods gone (pods read
 * every POLL_MS, so each figure is late by up to POLL_MS). rotor's own follow-up report
 * (rolled-out, ms from the patch) is recorded beside it and must agree.
 * Writes bench/results/pods-ready.json.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { ClusterClient } from '../lib/kube/cluster.js';
import { envVarName, reloaderHash } from '../lib/kube/restart/index.js';
import { kubeClient } from '../test/env/index.js';
import { keyVaultClientForTest } from '../test/env/keyvault-client.js';
import { startEnvironment } from '../test/env/sandbox.js';
import { type SampleApp, seedAndDeploy } from '../test/sandbox/sample-app.js';
import { type Sandbox, startSandbox } from '../test/sandbox/sandbox.js';
import { newKeyVaultVersion, postEventGrid } from '../test/sandbox/scenarios.js';
import { LAYOUT } from './layout.js';
import { startObserver } from './remote-observer.js';
import { summarise } from './stats.js';

const EVENTS = Number(process.env.ROTOR_BENCH_PODS_EVENTS ?? '100');
const REPLICAS = 3;
const POLL_MS = 10;
const ESO_DEFAULT_MS = 3_600_000;
const HASH_VAR = envVarName('SECRET', 'db-credentials');
const random = () => randomBytes(12).toString('base64url');
const log = (m: string) => console.log(`[pods-ready] ${m}`);

async function main(): Promise<void> {
  const env = await startEnvironment({ clusters: 1, log: (m) => log(m), ...LAYOUT.environment });
  const sandbox = await startSandbox(env.descriptor, LAYOUT.sandbox);
  try {
    const app: SampleApp = {
      namespace: 'podsready',
      kvSecret: 'podsready-db',
      csiSecret: 'podsready-tls',
      vaultMount: env.descriptor.openbao.kvMount,
      vaultPath: 'podsready/api',
      vsoRefreshAfter: '60s',
    };
    await seedAndDeploy(sandbox, app, { kv: random(), vault: random() });
    const admin = kubeClient(sandbox.env.clusters[0]!, 'admin');
    await admin.apps.patchNamespacedDeployment(
      { namespace: app.namespace, name: 'web', body: { spec: { replicas: REPLICAS } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    await podsReady(admin, app.namespace, undefined, 60_000);
    const result = {
      benchmark: 'pods-ready',
      date: new Date().toISOString(),
      machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version },
      setup: `one real kube-apiserver with kube-controller-manager, kube-scheduler and KWOK (fake nodes); the sample Deployment scaled to ${REPLICAS} replicas; Key Vault endpoint of the test env, ESO stand-in, Azurite; rotor App (default configuration, rollouts followed) behind the local host; events posted as Event Grid delivers them; pods read every ${POLL_MS} ms by the bench`,
      ...(await measure(sandbox, app, admin)),
    };
    await mkdir(new URL('./results/', import.meta.url), { recursive: true });
    await writeFile(
      new URL('./results/pods-ready.json', import.meta.url),
      `${JSON.stringify(result, null, 2)}\n`,
    );
    log(JSON.stringify(result, null, 2));
  } finally {
    await sandbox.stop();
    await env.stop();
  }
}

async function measure(sandbox: Sandbox, app: SampleApp, admin: ClusterClient) {
  log(`${EVENTS} sequential Key Vault changes, each followed to every pod Ready`);
  const observer = await startObserver(sandbox.env.clusters[0]!.adminKubeconfig, {
    patched: {
      path: `/apis/apps/v1/namespaces/${app.namespace}/deployments`,
      name: 'web',
      fingerprint: 'podTemplate',
    },
  });
  const { patched } = observer.watches;
  const kv = keyVaultClientForTest(sandbox.env.lowkey);
  const samples: Array<{ toPatch: number; toPodsReady: number; patchToReady: number; reported: number }> = [];
  try {
    for (let i = 0; i < EVENTS; i++) {
      const event = await newKeyVaultVersion(sandbox, kv, app.kvSecret, random());
      const patchSeen = patched.next();
      const t0 = performance.now();
      await postEventGrid(sandbox, [event]);
      const outcome = await sandbox.waitForOutcome((o) => o.eventId === event.id);
      if (outcome.status !== 'completed') throw new Error(`event ${i}: ${outcome.status}`);
      const ready = await podsReady(admin, app.namespace, await currentHash(admin, app.namespace), 60_000);
      const patchedAt = await patchSeen;
      const final = await sandbox.rolledOut(outcome);
      const rollout = final.workloads.find((w) => w.status === 'restarted')?.rollout;
      if (rollout?.status !== 'rolled-out') throw new Error(`event ${i}: rotor reported ${rollout?.status}`);
      samples.push({
        toPatch: patchedAt - t0,
        toPodsReady: ready - t0,
        patchToReady: ready - patchedAt,
        reported: rollout.ms,
      });
    }
  } finally {
    await observer.stop();
  }
  const of = (k: keyof (typeof samples)[number]) => summarise(samples.map((s) => s[k]));
  const patchToReady = of('patchToReady');
  return {
    events: EVENTS,
    replicas: REPLICAS,
    eventToPodsReady: of('toPodsReady'),
    eventToPatch: of('toPatch'),
    patchToPodsReady: patchToReady,
    /** rotor's follow-up: restart write → rolled-out, as it reports it (outcome, Event, `rotor status`). */
    rotorReportedRollout: of('reported'),
    pollBaseline: {
      label: 'ESO refreshInterval 1h (default): average wait 30 min, then the same rollout',
      p50Ms: ESO_DEFAULT_MS / 2 + patchToReady.p50Ms,
    },
    ratioP50: Math.round((ESO_DEFAULT_MS / 2 + patchToReady.p50Ms) / Math.max(1, of('toPodsReady').p50Ms)),
  };
}

/** Reloader's hash of the target Secret now (the sync has happened when the outcome is in). */
async function currentHash(admin: ClusterClient, namespace: string): Promise<string> {
  const secret = await admin.core.readNamespacedSecret({ namespace, name: 'db-credentials' });
  return reloaderHash({ kind: 'Secret', data: secret.data ?? {} });
}

/**
 * performance.now() when exactly REPLICAS live pods carry `hash` (any, when undefined) and
 * are Ready, nothing older left.
 */
async function podsReady(
  admin: ClusterClient,
  namespace: string,
  hash: string | undefined,
  timeoutMs: number,
) {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const pods = await admin.core.listNamespacedPod({ namespace, labelSelector: 'app=web' });
    const now = performance.now();
    const live = pods.items.filter((p) => !p.metadata?.deletionTimestamp);
    const current = live.filter(
      (p) =>
        (hash === undefined ||
          p.spec?.containers.some((c) => c.env?.some((e) => e.name === HASH_VAR && e.value === hash))) &&
        p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
    );
    if (live.length === REPLICAS && current.length === REPLICAS) return now;
    if (now > deadline) {
      throw new Error(`pods not Ready on ${hash} within ${timeoutMs} ms: ${current.length}/${live.length}`);
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
