/**
 * End-to-end latency and burst, with real servers: Key Vault change → Event Grid delivery
 * to the local host → ESO stand-in forced → Secret updated → Deployment patched.
 *
 *   npx tsx bench/e2e.ts      (ROTOR_BENCH_EVENTS=100, ROTOR_BENCH_BURST=1000 by default)
 *
 * Writes bench/results/e2e.json: pipeline time (event received → last patch, from rotor's
 * own timeline), wall time per event (POST → outcome), burst wall time and how many
 * rollouts the burst caused (coalescing), peak RSS, each beside the poll baseline.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import type { Outcome } from '../lib/outcome.js';
import { kubeClient } from '../test/env/index.js';
import { keyVaultClientForTest } from '../test/env/keyvault-client.js';
import { startEnvironment } from '../test/env/sandbox.js';
import { type SampleApp, seedAndDeploy } from '../test/sandbox/sample-app.js';
import { startSandbox } from '../test/sandbox/sandbox.js';
import { keyVaultEvent, keyVaultUpdate, postEventGrid } from '../test/sandbox/scenarios.js';
import { summarise } from './stats.js';

const EVENTS = Number(process.env.ROTOR_BENCH_EVENTS ?? '100');
const BURST = Number(process.env.ROTOR_BENCH_BURST ?? '1000');
const BURST_SECRETS = Math.max(1, Math.round(BURST / 5));
const BURST_DEPLOYMENTS = Math.max(1, Math.round(BURST_SECRETS / 10));
const ESO_DEFAULT_MS = 3_600_000;
const random = () => randomBytes(12).toString('base64url');
const log = (m: string) => console.log(`[e2e] ${m}`);

async function main(): Promise<void> {
  const env = await startEnvironment({ clusters: 1, log: (m) => log(m) });
  const sandbox = await startSandbox(env.descriptor, { coalesceWindowMs: 50 });
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

    log(`latency: ${EVENTS} sequential Key Vault changes`);
    const pipeline: number[] = [];
    const wall: number[] = [];
    for (let i = 0; i < EVENTS; i++) {
      const run = await keyVaultUpdate(sandbox, app, random());
      const patched = run.outcome.timeline.filter((t) => t.step === 'workloads-patched').at(-1)?.atMs;
      if (run.outcome.status !== 'completed' || patched === undefined)
        throw new Error(`event ${i}: ${run.outcome.status}`);
      pipeline.push(patched);
      wall.push(run.wallMs);
    }
    const burst = await runBurst(sandbox);
    const rss = process.resourceUsage().maxRSS * 1024;
    const result = {
      benchmark: 'e2e',
      date: new Date().toISOString(),
      machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version },
      setup:
        'one real kube-apiserver, Key Vault endpoint of the test env, ESO stand-in, Azurite state store; rotor App behind the local host; events posted as Event Grid delivers them',
      latency: {
        events: EVENTS,
        pipelineEventToPatch: summarise(pipeline),
        wallChangeToOutcome: summarise(wall),
        pollBaseline: {
          label: 'ESO refreshInterval 1h (default): average wait 30 min',
          p50Ms: ESO_DEFAULT_MS / 2,
        },
        ratioP50: Math.round(ESO_DEFAULT_MS / 2 / Math.max(1, summarise(wall).p50Ms)),
      },
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
    spec: { provider: { azurekv: { authType: 'ManagedIdentity', vaultUrl: env.lowkey.vaultUrl } } },
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
  await inBatches(names, 8, async (n) => {
    versions.set(n, (await kv.setSecret(n, random())).properties.version ?? '');
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
  await inBatches(batches, 4, (b) => postEventGrid(sandbox, b));
  const deliveredMs = performance.now() - t0;
  const outcomes: Outcome[] = sandbox.outcomes.slice(from).filter((o) => ids.has(o.eventId));
  const wallMs = performance.now() - t0;
  const generationsAfter = await generations(admin, namespace);
  const rollouts = [...generationsAfter].reduce(
    (sum, [name, g]) => sum + (g - (generationsBefore.get(name) ?? g)),
    0,
  );
  const updatedSecrets = (await admin.core.listNamespacedSecret({ namespace })).items.length;
  return {
    events: events.length,
    secrets: BURST_SECRETS,
    deployments: BURST_DEPLOYMENTS,
    wallMs: Math.round(wallMs),
    deliveredMs: Math.round(deliveredMs),
    outcomes: outcomes.length,
    statuses: countBy(outcomes.map((o) => o.status)),
    sharedRuns: outcomes.filter((o) => o.sharedRunOf).length,
    failureReasons: [
      ...new Set(
        outcomes.flatMap((o) => [
          ...o.refreshes.flatMap((r) => ('error' in r ? [r.error] : [])),
          ...o.workloads.flatMap((w) => ('error' in w ? [w.error] : [])),
          ...o.clusterFailures.map((c) => c.error),
        ]),
      ),
    ].slice(0, 5),
    rolloutsCaused: rollouts,
    rolloutsWithoutCoalescing: BURST_SECRETS,
    secretsPresent: updatedSecrets,
  };
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
