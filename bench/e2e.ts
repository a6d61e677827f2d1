/**
 * End-to-end latency and burst, with real servers: Key Vault change → Event Grid delivery
 * to the local host → ESO forced → Secret updated → Deployment patched, rotor in its
 * default configuration.
 *
 *   npx tsx bench/e2e.ts      (ROTOR_BENCH_EVENTS=100, ROTOR_BENCH_BURST=1000 by default)
 *
 * Writes bench/results/e2e.json:
 *  - latency, timed by watches from the bench: POST → pod template changed (event → patch),
 *    the operator's own sync (force annotation → Secret data changed), and rotor's
 *    overhead (the first minus the second);
 *  - burst: BURST events for BURST/5 secrets, delivered like Event Grid (non-2xx answers are
 *    delivered again with backoff), wall time until every delivery was acknowledged, the
 *    rollouts per Deployment, and how many Deployments do not carry the hash of their
 *    Secrets' final data at the end (stale).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { RestartConfigSchema } from '../lib/config.js';
import { envVarName, reloaderHash } from '../lib/kube/restart/index.js';
import type { Outcome } from '../lib/outcome.js';
import { STANDIN_CONTROLLER_CLASS } from '../test/env/eso.js';
import { kubeClient } from '../test/env/index.js';
import { keyVaultClientForTest } from '../test/env/keyvault-client.js';
import { startEnvironment } from '../test/env/sandbox.js';
import { type SampleApp, seedAndDeploy } from '../test/sandbox/sample-app.js';
import { startSandbox } from '../test/sandbox/sandbox.js';
import { keyVaultEvent, postEventGrid } from '../test/sandbox/scenarios.js';
import { ChangeWatch, forceAnnotation, podTemplate, secretData } from './observer.js';
import { summarise } from './stats.js';
import { RequestTrace } from './trace.js';

const EVENTS = Number(process.env.ROTOR_BENCH_EVENTS ?? '100');
const BURST = Number(process.env.ROTOR_BENCH_BURST ?? '1000');
const BURST_SECRETS = Math.max(1, Math.round(BURST / 5));
const BURST_DEPLOYMENTS = Math.max(1, Math.round(BURST_SECRETS / 10));
const ESO_DEFAULT_MS = 3_600_000;
/** Event Grid's retry schedule, scaled (ROTOR_BENCH_RETRY_SCALE, default 1/100). */
const EVENT_GRID_RETRY_MS = [10_000, 30_000, 60_000, 300_000, 600_000, 1_800_000, 3_600_000];
const RETRY_SCALE = Number(process.env.ROTOR_BENCH_RETRY_SCALE ?? '0.01');
const random = () => randomBytes(12).toString('base64url');
const log = (m: string) => console.log(`[e2e] ${m}`);
/** ROTOR_BENCH_TRACE=n: print every HTTP request of the process for the last n latency events. */
const TRACE = Number(process.env.ROTOR_BENCH_TRACE ?? '0');
const trace = TRACE > 0 ? new RequestTrace() : undefined;

async function main(): Promise<void> {
  const env = await startEnvironment({ clusters: 1, log: (m) => log(m) });
  // The default configuration (the sandbox's own is a shorter coalescing window).
  const sandbox = await startSandbox(env.descriptor, {
    coalesceWindowMs: RestartConfigSchema.parse({}).coalesceWindowMs,
    // ROTOR_BENCH_RUN_CONCURRENCY compares runs.concurrency settings; rotor's default otherwise.
    ...(process.env.ROTOR_BENCH_RUN_CONCURRENCY
      ? { runConcurrency: Number(process.env.ROTOR_BENCH_RUN_CONCURRENCY) }
      : {}),
  });
  try {
    const app: SampleApp = {
      namespace: 'bench',
      kvSecret: 'bench-db',
      csiSecret: 'bench-tls',
      vaultMount: env.descriptor.openbao.kvMount,
      vaultPath: 'bench/api',
      vsoRefreshAfter: '60s',
    };
    await seedAndDeploy(sandbox, app, { kv: random(), vault: random() });
    const latency = await runLatency(sandbox, app);
    const burst = BURST > 0 ? await runBurst(sandbox) : undefined;
    const rss = process.resourceUsage().maxRSS * 1024;
    const result = {
      benchmark: 'e2e',
      date: new Date().toISOString(),
      machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version },
      setup:
        'one real kube-apiserver, Key Vault endpoint of the test env, ESO stand-in, Azurite state store; rotor App (default configuration) behind the local host; events posted as Event Grid delivers them; times seen by watches from the bench',
      latency,
      burst,
      peakRssBytes: rss,
    };
    await mkdir(new URL('./results/', import.meta.url), { recursive: true });
    await writeFile(new URL('./results/e2e.json', import.meta.url), `${JSON.stringify(result, null, 2)}\n`);
    log(
      JSON.stringify(
        { latency: result.latency, burst: result.burst, peakRssMiB: Math.round(rss / 1048576) },
        null,
        2,
      ),
    );
  } finally {
    await sandbox.stop();
    await env.stop();
  }
}

/**
 * EVENTS sequential Key Vault changes of the sample's secret, each POSTed as Event Grid
 * delivers it. Watches from the bench time, per change: POST → the Deployment's pod
 * template changed (event → patch), and the operator's own sync: the force annotation on
 * the ExternalSecret → the target Secret's data changed. rotor's overhead is the first
 * minus the second.
 */
async function runLatency(sandbox: Awaited<ReturnType<typeof startSandbox>>, app: SampleApp) {
  log(`latency: ${EVENTS} sequential Key Vault changes`);
  const { kc } = kubeClient(sandbox.env.clusters[0]!, 'admin');
  const ns = app.namespace;
  const watches = {
    force: new ChangeWatch(
      kc,
      `/apis/external-secrets.io/v1/namespaces/${ns}/externalsecrets`,
      'db-credentials',
      forceAnnotation,
    ),
    synced: new ChangeWatch(kc, `/api/v1/namespaces/${ns}/secrets`, 'db-credentials', secretData),
    patched: new ChangeWatch(kc, `/apis/apps/v1/namespaces/${ns}/deployments`, 'web', podTemplate),
  };
  await Promise.all(Object.values(watches).map((w) => w.start()));
  const kv = keyVaultClientForTest(sandbox.env.lowkey);
  const samples: Array<{
    eventToPatch: number;
    operatorSync: number;
    overhead: number;
    beforeForce: number;
    afterSync: number;
    pipeline: number;
    wall: number;
  }> = [];
  try {
    for (let i = 0; i < EVENTS; i++) {
      const written = await kv.setSecret(app.kvSecret, random());
      const event = keyVaultEvent(
        sandbox.env.lowkey.vaultName,
        app.kvSecret,
        written.properties.version ?? '',
      );
      const seen = {
        force: watches.force.next(),
        synced: watches.synced.next(),
        patched: watches.patched.next(),
      };
      const traced = trace !== undefined && i >= EVENTS - TRACE;
      if (traced) trace.start();
      const t0 = performance.now();
      await postEventGrid(sandbox, [event]);
      const outcome = await sandbox.waitForOutcome((o) => o.eventId === event.id);
      const wall = performance.now() - t0;
      const patchedInPipeline = outcome.timeline.filter((t) => t.step === 'workloads-patched').at(-1)?.atMs;
      if (outcome.status !== 'completed' || patchedInPipeline === undefined)
        throw new Error(`event ${i}: ${outcome.status}`);
      const [force, synced, patched] = await Promise.all([seen.force, seen.synced, seen.patched]);
      const eventToPatch = patched - t0;
      if (traced) {
        await new Promise((r) => setTimeout(r, 50));
        const marks = `force seen ${(force - t0).toFixed(1)}, Secret changed ${(synced - t0).toFixed(1)}, template changed ${(patched - t0).toFixed(1)} ms`;
        log(
          `trace of event ${i} (${marks}); rotor timeline ${JSON.stringify(outcome.timeline)}\n${RequestTrace.format(trace.stop(), t0)}`,
        );
      }
      const operatorSync = synced - force;
      samples.push({
        eventToPatch,
        operatorSync,
        overhead: eventToPatch - operatorSync,
        beforeForce: force - t0,
        afterSync: patched - synced,
        pipeline: patchedInPipeline,
        wall,
      });
    }
  } finally {
    for (const w of Object.values(watches)) w.stop();
  }
  const of = (k: keyof (typeof samples)[number]) => summarise(samples.map((s) => s[k]));
  return {
    events: EVENTS,
    eventToPatch: of('eventToPatch'),
    operatorSync: of('operatorSync'),
    overhead: of('overhead'),
    /** Where the overhead goes: POST → force annotation seen, and Secret updated → template changed. */
    overheadBeforeForce: of('beforeForce'),
    overheadAfterSync: of('afterSync'),
    pipelineEventToPatch: of('pipeline'),
    wallChangeToOutcome: of('wall'),
    pollBaseline: {
      label: 'ESO refreshInterval 1h (default): average wait 30 min',
      p50Ms: ESO_DEFAULT_MS / 2,
    },
    ratioP50: Math.round(ESO_DEFAULT_MS / 2 / Math.max(1, of('eventToPatch').p50Ms)),
  };
}

/**
 * BURST events for BURST_SECRETS Key Vault secrets (each changed once, each event delivered
 * five times with distinct ids as a noisy source would), consumed by BURST_DEPLOYMENTS
 * Deployments of ten secrets each. Counts the rollouts the burst caused.
 */
async function runBurst(sandbox: Awaited<ReturnType<typeof startSandbox>>) {
  const env = sandbox.env;
  const admin = kubeClient(env.clusters[0]!, 'admin');
  const namespace = `burst-${random()
    .slice(0, 6)
    .toLowerCase()
    .replace(/[^a-z0-9]/g, 'x')}`;
  await admin.core.createNamespace({ body: { metadata: { name: namespace } } });
  const kv = keyVaultClientForTest(env.lowkey);
  const names = Array.from({ length: BURST_SECRETS }, (_, i) => `burst-${i}`);
  log(`burst: creating ${BURST_SECRETS} secrets, ExternalSecrets and ${BURST_DEPLOYMENTS} Deployments`);
  await inBatches(names, 8, (n) => kv.setSecret(n, random()));
  await admin.objects.create({
    apiVersion: 'external-secrets.io/v1',
    kind: 'SecretStore',
    metadata: { name: 'azure-kv', namespace },
    // Key Vault stores are served by the ESO stand-in (Entra ID cannot run here), which takes
    // only stores naming its class; without it nothing syncs and the burst never starts.
    spec: {
      controller: STANDIN_CONTROLLER_CLASS,
      provider: { azurekv: { authType: 'ManagedIdentity', vaultUrl: env.lowkey.vaultUrl } },
    },
  } as never);
  await inBatches(names, 8, (n) =>
    admin.objects.create({
      apiVersion: 'external-secrets.io/v1',
      kind: 'ExternalSecret',
      metadata: { name: n, namespace },
      spec: {
        refreshInterval: '1h',
        secretStoreRef: { kind: 'SecretStore', name: 'azure-kv' },
        target: { name: n },
        data: [{ secretKey: 'value', remoteRef: { key: n } }],
      },
    } as never),
  );
  const deployments = Array.from({ length: BURST_DEPLOYMENTS }, (_, d) => `app-${d}`);
  await inBatches(deployments, 8, (d, di) =>
    admin.apps.createNamespacedDeployment({
      namespace,
      body: {
        metadata: { name: d, annotations: { 'reloader.stakater.com/auto': 'true' } },
        spec: {
          selector: { matchLabels: { app: d } },
          template: {
            metadata: { labels: { app: d } },
            spec: {
              containers: [
                {
                  name: 'app',
                  image: 'nginx:1.27',
                  env: names.slice(di * 10, di * 10 + 10).map((n, k) => ({
                    name: `S${k}`,
                    valueFrom: { secretKeyRef: { name: n, key: 'value' } },
                  })),
                },
              ],
            },
          },
        },
      },
    }),
  );
  await waitFor(async () => {
    const list = await admin.core.listNamespacedSecret({ namespace });
    return list.items.length >= BURST_SECRETS;
  }, 120_000);
  const generationsBefore = await generations(admin, namespace);

  const versions = new Map<string, string>();
  const finalValues = new Map<string, string>();
  await inBatches(names, 8, async (n) => {
    const value = random();
    finalValues.set(n, value);
    versions.set(n, (await kv.setSecret(n, value)).properties.version ?? '');
  });
  const events = names.flatMap((n) =>
    Array.from({ length: Math.round(BURST / BURST_SECRETS) }, () =>
      keyVaultEvent(env.lowkey.vaultName, n, versions.get(n)!),
    ),
  );
  const from = sandbox.outcomes.length;
  const ids = new Set<string>(events.map((e) => e.id));
  log(`burst: delivering ${events.length} events in batches of 50, 4 deliveries at a time`);
  const t0 = performance.now();
  const batches = chunk(events, 50);
  const deliveries = { posts: 0, redeliveries: 0, deadLettered: 0, refused: {} as Record<string, number> };
  await inBatches(batches, 4, (b) => deliverLikeEventGrid(sandbox, b, deliveries));
  const wallMs = performance.now() - t0;
  const outcomes: Outcome[] = sandbox.outcomes.slice(from).filter((o) => ids.has(o.eventId));
  const generationsAfter = await generations(admin, namespace);
  const perDeployment = Object.fromEntries(
    [...generationsAfter].map(([name, g]) => [name, g - (generationsBefore.get(name) ?? g)]),
  );
  const rollouts = Object.values(perDeployment).reduce((sum, n) => sum + n, 0);
  const stale = await staleWorkloads(admin, namespace, names, finalValues);
  return {
    events: events.length,
    secrets: BURST_SECRETS,
    deployments: BURST_DEPLOYMENTS,
    wallMs: Math.round(wallMs),
    deliveries,
    outcomes: outcomes.length,
    statuses: countBy(outcomes.map((o) => o.status)),
    sharedRuns: outcomes.filter((o) => o.sharedRunOf).length,
    failureReasons: [
      ...new Set(
        outcomes.flatMap((o) => [
          ...o.refreshes.flatMap((r) => ('error' in r ? [r.error.message] : [])),
          ...o.workloads.flatMap((w) => ('error' in w ? [w.error.message] : [])),
          ...o.clusterFailures.map((c) => c.error.message),
        ]),
      ),
    ].slice(0, 5),
    rolloutsCaused: rollouts,
    rolloutsPerDeployment: perDeployment,
    rolloutsFloor: BURST_DEPLOYMENTS,
    rolloutsWithoutCoalescing: BURST_SECRETS,
    staleWorkloads: stale.length,
    stale: stale.slice(0, 5),
  };
}

/**
 * Event Grid's delivery contract: a non-2xx answer (or no answer) is delivered again
 * later, with the same event ids, following its retry schedule (10 s, 30 s, 1 min, 5 min,
 * ...), here scaled by RETRY_SCALE so a bench run stays short.
 */
async function deliverLikeEventGrid(
  sandbox: Awaited<ReturnType<typeof startSandbox>>,
  events: unknown[],
  count: { posts: number; redeliveries: number; deadLettered: number; refused: Record<string, number> },
): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    count.posts++;
    if (attempt > 0) count.redeliveries++;
    const res = await fetch(`${sandbox.host.url}/runtime/webhooks/eventgrid?functionName=keyVaultEvents`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'aeg-event-type': 'Notification',
        'x-functions-key': sandbox.host.key,
      },
      body: JSON.stringify(events),
    }).catch((error: unknown) => ({ ok: false, status: String((error as Error).message) }) as const);
    if (res.ok) return;
    count.refused[res.status] = (count.refused[res.status] ?? 0) + 1;
    if (typeof res.status === 'number' && res.status === 400)
      throw new Error('burst event refused as malformed');
    const delay = EVENT_GRID_RETRY_MS[Math.min(attempt, EVENT_GRID_RETRY_MS.length - 1)] as number;
    if (attempt >= EVENT_GRID_RETRY_MS.length)
      throw new Error(`batch still refused after ${attempt + 1} deliveries`);
    await new Promise((r) => setTimeout(r, delay * RETRY_SCALE));
  }
}

/**
 * A Deployment is current when its Secrets hold the burst's final values and its template
 * carries the Reloader hash of each of them (env-vars strategy: STAKATER_<NAME>_SECRET).
 */
async function staleWorkloads(
  admin: ReturnType<typeof kubeClient>,
  namespace: string,
  names: string[],
  finalValues: Map<string, string>,
): Promise<string[]> {
  const secrets = new Map(
    (await admin.core.listNamespacedSecret({ namespace })).items.map((s) => [s.metadata?.name ?? '', s]),
  );
  const stale: string[] = [];
  for (const d of (await admin.apps.listNamespacedDeployment({ namespace })).items) {
    const env = new Map(
      (d.spec?.template.spec?.containers[0]?.env ?? []).map((e) => [e.name, e.value ?? '']),
    );
    const di = Number(d.metadata?.name?.slice('app-'.length));
    for (const n of names.slice(di * 10, di * 10 + 10)) {
      const secret = secrets.get(n);
      const value = secret?.data?.value
        ? Buffer.from(secret.data.value, 'base64').toString('utf8')
        : undefined;
      const hash = secret ? reloaderHash({ kind: 'Secret', data: secret.data ?? {} }) : undefined;
      const carried = env.get(envVarName('SECRET', n));
      if (value !== finalValues.get(n))
        stale.push(`${d.metadata?.name}: Secret ${n} not synced to its final value`);
      else if (carried !== hash)
        stale.push(`${d.metadata?.name}: ${n} hash ${carried ?? 'absent'}, expected ${hash}`);
      else continue;
      break;
    }
  }
  return stale;
}

async function generations(admin: ReturnType<typeof kubeClient>, namespace: string) {
  const list = await admin.apps.listNamespacedDeployment({ namespace });
  return new Map(list.items.map((d) => [d.metadata?.name ?? '', d.metadata?.generation ?? 0]));
}

function countBy(values: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) out[v] = (out[v] ?? 0) + 1;
  return out;
}

function chunk<T>(items: T[], size: number): T[][] {
  return Array.from({ length: Math.ceil(items.length / size) }, (_, i) =>
    items.slice(i * size, i * size + size),
  );
}

async function inBatches<T>(
  items: readonly T[],
  concurrency: number,
  fn: (item: T, index: number) => Promise<unknown>,
) {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) {
        const i = next++;
        await fn(items[i] as T, i);
      }
    }),
  );
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 250));
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
