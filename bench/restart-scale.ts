/**
 * Restart engine at scale, against a real kube-apiserver (test/env/kube.ts):
 * 10,000 Deployments in 100 namespaces consuming 20,000 Secrets (two each).
 *
 *   npx tsx bench/restart-scale.ts            (full size)
 *   ROTOR_BENCH_SCALE=0.1 npx tsx bench/restart-scale.ts   (a tenth, for a quick look)
 *   NODE_OPTIONS=--expose-gc ...                           (exact heap held by the index)
 *
 * Measures, with the restricted rotor identity:
 *  - index warm-up: one paginated list per workload kind, then watches;
 *  - consumer lookup per change (warm): the index lookup alone, and a full plan() of one
 *    change (Secret read + workload read + rules), p50/p99;
 *  - a burst of 1,000 changed Secrets (each consumed by a different Deployment) sent as
 *    1,000 concurrent restart() calls: planned and patched, wall time, all verified;
 *  - peak RSS of the process (process.resourceUsage().maxRSS) and heap after warm-up.
 * Writes bench/results/restart-scale.json.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { KubeConfig } from '@kubernetes/client-node';
import { RestartConfigSchema } from '../lib/config.js';
import { type ClusterClient, clusterClientFromKubeConfig } from '../lib/kube/cluster.js';
import { ConsumerIndex, RestartEngine, WORKLOAD_KINDS } from '../lib/kube/restart/index.js';
import { createLimiter } from '../lib/limiter.js';
import { startKubeCluster } from '../test/env/kube.js';

const SCALE = Number(process.env.ROTOR_BENCH_SCALE ?? '1');
const NAMESPACES = Math.max(1, Math.round(100 * SCALE));
const DEPLOYMENTS_PER_NS = 100;
const SECRETS_PER_DEPLOYMENT = 2;
const BURST = Math.min(1_000, NAMESPACES * DEPLOYMENTS_PER_NS);
const CREATE_CONCURRENCY = 8;
const LOOKUP_SAMPLES = 10_000;
const PLAN_SAMPLES = 300;

const started = performance.now();
const log = (msg: string) => console.log(`[${((performance.now() - started) / 1000).toFixed(1)} s] ${msg}`);

function clientFor(yaml: string, name: string): ClusterClient {
  const kc = new KubeConfig();
  kc.loadFromString(yaml);
  return clusterClientFromKubeConfig(name, kc);
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

function stats(samples: number[]) {
  const sorted = [...samples].sort((a, b) => a - b);
  const round = (n: number) => Math.round(n * 1000) / 1000;
  return {
    n: samples.length,
    p50Ms: round(percentile(sorted, 50)),
    p99Ms: round(percentile(sorted, 99)),
    maxMs: round(sorted[sorted.length - 1] ?? 0),
  };
}

const nsName = (i: number) => `bench-${String(i).padStart(3, '0')}`;
const secretName = (d: number, k: number) => `app-${d}-s${k}`;

async function populate(admin: ClusterClient): Promise<number> {
  const t0 = performance.now();
  const limit = createLimiter(CREATE_CONCURRENCY);
  await Promise.all(
    Array.from({ length: NAMESPACES }, (_, i) =>
      limit(() => admin.core.createNamespace({ body: { metadata: { name: nsName(i) } } })),
    ),
  );
  const tasks: Array<Promise<unknown>> = [];
  for (let n = 0; n < NAMESPACES; n++) {
    const namespace = nsName(n);
    for (let d = 0; d < DEPLOYMENTS_PER_NS; d++) {
      for (let k = 0; k < SECRETS_PER_DEPLOYMENT; k++) {
        tasks.push(
          limit(() =>
            admin.core.createNamespacedSecret({
              namespace,
              body: {
                metadata: { name: secretName(d, k) },
                data: { value: Buffer.from(`v0-${n}-${d}-${k}`).toString('base64') },
              },
            }),
          ),
        );
      }
      tasks.push(limit(() => admin.apps.createNamespacedDeployment({ namespace, body: deployment(d) })));
    }
    if (n % 10 === 9) log(`queued objects for ${n + 1}/${NAMESPACES} namespaces`);
  }
  await Promise.all(tasks);
  return performance.now() - t0;
}

function deployment(d: number) {
  const name = `app-${d}`;
  return {
    metadata: { name, annotations: { 'reloader.stakater.com/auto': 'true' } },
    spec: {
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          containers: [
            {
              name: 'app',
              image: 'registry.invalid/app:1',
              envFrom: [{ secretRef: { name: secretName(d, 0) } }],
              volumeMounts: [{ name: 'creds', mountPath: '/creds' }],
            },
          ],
          volumes: [{ name: 'creds', secret: { secretName: secretName(d, 1) } }],
        },
      },
    },
  };
}

async function main(): Promise<void> {
  log(
    `starting kube-apiserver; ${NAMESPACES} namespaces × ${DEPLOYMENTS_PER_NS} Deployments, ${SECRETS_PER_DEPLOYMENT} Secrets each`,
  );
  // API traffic only: controllers would turn 10,000 Deployments into 10,000 pods on 2 cores.
  const cluster = await startKubeCluster({ name: 'bench', controllers: false });
  try {
    const admin = clientFor(cluster.kubeconfigYaml('admin'), cluster.name);
    const rotor = clientFor(cluster.kubeconfigYaml('rotor'), cluster.name);
    const populateMs = await populate(admin);
    const objects = NAMESPACES * DEPLOYMENTS_PER_NS * (1 + SECRETS_PER_DEPLOYMENT);
    log(`created ${objects} objects in ${(populateMs / 1000).toFixed(1)} s`);

    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    const rssBefore = process.memoryUsage().rss;
    const heapBefore = process.memoryUsage().heapUsed;
    const config = RestartConfigSchema.parse({ concurrency: process.env.ROTOR_BENCH_CONCURRENCY });
    const engine = new RestartEngine(rotor, config, {
      log: (level, msg) => {
        if (level === 'error') console.error(msg);
      },
    });
    // What a cold instance pays for its consumer index: time, and the RSS it grows by at peak.
    let rssPeak = rssBefore;
    const sampler = setInterval(() => {
      rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
    }, 10);
    const t0 = performance.now();
    await engine.start();
    const warmMs = performance.now() - t0;
    clearInterval(sampler);
    rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
    gc?.();
    const heapAfterWarm = process.memoryUsage().heapUsed;
    log(`engine index warm in ${(warmMs / 1000).toFixed(2)} s`);

    // The same index on its own, to time the lookup alone.
    const index = new ConsumerIndex(rotor, WORKLOAD_KINDS, () => undefined);
    await index.start();
    const lookups: number[] = [];
    for (let i = 0; i < LOOKUP_SAMPLES; i++) {
      const n = i % NAMESPACES;
      const d = (i * 7919) % DEPLOYMENTS_PER_NS;
      const s = performance.now();
      const found = index.lookup(nsName(n), 'SECRET', secretName(d, i % 2));
      lookups.push(performance.now() - s);
      if (found.length !== 1)
        throw new Error(`lookup found ${found.length} consumers for ${nsName(n)}/${secretName(d, i % 2)}`);
    }
    const indexSize = index.size;
    await index.close();
    log(`index lookup p99 ${stats(lookups).p99Ms} ms over ${LOOKUP_SAMPLES}`);

    const plans: number[] = [];
    for (let i = 0; i < PLAN_SAMPLES; i++) {
      const n = (i * 13) % NAMESPACES;
      const d = (i * 31) % DEPLOYMENTS_PER_NS;
      const s = performance.now();
      const r = await engine.plan([
        { cluster: cluster.name, kind: 'Secret', namespace: nsName(n), name: secretName(d, 0) },
      ]);
      plans.push(performance.now() - s);
      if (r.length !== 1 || r[0]?.status !== 'restarted') throw new Error(`plan: ${JSON.stringify(r)}`);
    }
    log(`plan of one change p99 ${stats(plans).p99Ms} ms over ${PLAN_SAMPLES}`);

    // The burst: 1,000 Secrets, each consumed by a different Deployment, change content first.
    const burst = Array.from({ length: BURST }, (_, i) => ({
      namespace: nsName(i % NAMESPACES),
      d: Math.floor(i / NAMESPACES),
    }));
    const limit = createLimiter(CREATE_CONCURRENCY);
    await Promise.all(
      burst.map(({ namespace, d }) =>
        limit(() =>
          admin.core.replaceNamespacedSecret({
            namespace,
            name: secretName(d, 0),
            body: {
              metadata: { name: secretName(d, 0) },
              data: { value: Buffer.from(`v1-${namespace}-${d}`).toString('base64') },
            },
          }),
        ),
      ),
    );
    const changes = burst.map(({ namespace, d }) => ({
      cluster: cluster.name,
      kind: 'Secret' as const,
      namespace,
      name: secretName(d, 0),
    }));

    const p0 = performance.now();
    const planned = await engine.plan(changes);
    const planBurstMs = performance.now() - p0;
    if (planned.filter((r) => r.status === 'restarted').length !== BURST)
      throw new Error('burst plan incomplete');
    log(`planned the burst of ${BURST} in ${(planBurstMs / 1000).toFixed(2)} s`);

    const b0 = performance.now();
    const results = (await Promise.all(changes.map((c) => engine.restart([c])))).flat();
    const burstMs = performance.now() - b0;
    const restarted = results.filter((r) => r.status === 'restarted').length;
    const failed = results.filter((r) => r.status === 'failed');
    if (restarted !== BURST)
      throw new Error(`burst: ${restarted} restarted, failures: ${JSON.stringify(failed.slice(0, 3))}`);
    log(`burst of ${BURST} changes planned and patched in ${(burstMs / 1000).toFixed(2)} s`);

    const sample = await admin.apps.readNamespacedDeployment({ namespace: nsName(0), name: 'app-0' });
    if (sample.metadata?.generation !== 2)
      throw new Error(`app-0 generation ${sample.metadata?.generation}, expected 2`);
    const repeat = (await Promise.all(changes.slice(0, 100).map((c) => engine.restart([c])))).flat();
    if (!repeat.every((r) => r.status === 'already-current')) throw new Error('a repeated burst wrote again');
    await engine.close();

    const result = {
      benchmark: 'restart-scale',
      date: new Date().toISOString(),
      node: process.version,
      machine: { cpus: os.cpus().length, loadAverage1m: Math.round((os.loadavg()[0] ?? 0) * 10) / 10 },
      shape: {
        namespaces: NAMESPACES,
        deployments: NAMESPACES * DEPLOYMENTS_PER_NS,
        secrets: NAMESPACES * DEPLOYMENTS_PER_NS * SECRETS_PER_DEPLOYMENT,
      },
      populateSeconds: Math.round(populateMs / 100) / 10,
      indexWarmSeconds: Math.round(warmMs / 10) / 100,
      index: {
        buildMs: Math.round(warmMs),
        /** RSS growth at the build's peak (lists in flight included). */
        buildMiB: Math.round((rssPeak - rssBefore) / 104857.6) / 10,
        heapHeldMiB: gc ? Math.round((heapAfterWarm - heapBefore) / 104857.6) / 10 : null,
      },
      indexedWorkloads: indexSize,
      lookup: { indexOnly: stats(lookups), planOneChange: stats(plans), targetP99Ms: 20 },
      burst: {
        changes: BURST,
        planOnlySeconds: Math.round(planBurstMs / 10) / 100,
        plannedAndPatchedSeconds: Math.round(burstMs / 10) / 100,
        restarted,
        targetSeconds: 10,
        coalesceWindowMs: config.coalesceWindowMs,
        concurrency: config.concurrency,
      },
      memory: {
        maxRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
        rssBeforeEngineMiB: Math.round(rssBefore / 1048576),
        // Heap the engine holds for 10,000 indexed workloads (needs NODE_OPTIONS=--expose-gc to be exact).
        engineHeapMiB: gc ? Math.round((heapAfterWarm - heapBefore) / 104857.6) / 10 : null,
        note: 'maxRSS is the whole bench process, including the client that created the objects',
      },
    };
    await mkdir(new URL('./results/', import.meta.url), { recursive: true });
    await writeFile(
      new URL('./results/restart-scale.json', import.meta.url),
      `${JSON.stringify(result, null, 2)}\n`,
    );
    console.log(JSON.stringify(result, null, 2));
  } finally {
    await cluster.stop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
