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
import { keyVaultClientForTest } from '../test/env/keyvault-client.js';
import { startEnvironment } from '../test/env/sandbox.js';
import { type SampleApp, seedAndDeploy } from '../test/sandbox/sample-app.js';
import { startSandbox } from '../test/sandbox/sandbox.js';
import { newKeyVaultVersion, postEventGrid } from '../test/sandbox/scenarios.js';
import { runBurst } from './burst.js';
import { LAYOUT, processLabels } from './layout.js';
import { startObserver } from './remote-observer.js';
import { summarise } from './stats.js';
import { RequestTrace } from './trace.js';

const EVENTS = Number(process.env.ROTOR_BENCH_EVENTS ?? '100');
const BURST = Number(process.env.ROTOR_BENCH_BURST ?? '1000');
const ESO_DEFAULT_MS = 3_600_000;
const random = () => randomBytes(12).toString('base64url');
const log = (m: string) => console.log(`[e2e] ${m}`);
/** ROTOR_BENCH_TRACE=n: print every HTTP request of the process for the last n latency events. */
const TRACE = Number(process.env.ROTOR_BENCH_TRACE ?? '0');
const trace = TRACE > 0 ? new RequestTrace() : undefined;

async function main(): Promise<void> {
  const env = await startEnvironment({ clusters: 1, log: (m) => log(m), ...LAYOUT.environment });
  // The default configuration (the sandbox's own is a shorter coalescing window).
  const sandbox = await startSandbox(env.descriptor, {
    ...LAYOUT.sandbox,
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
    const burst = BURST > 0 ? await runBurst(sandbox, BURST, processLabels(env, sandbox)) : undefined;
    const rss = process.resourceUsage().maxRSS * 1024;
    const result = {
      benchmark: 'e2e',
      date: new Date().toISOString(),
      machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version },
      setup: `one real kube-apiserver, Key Vault endpoint of the test env, ESO stand-in, Azurite state store (${LAYOUT.name}); rotor App (default configuration) behind the local host; events posted as Event Grid delivers them; times seen by watches from the bench (in a child process unless ROTOR_BENCH_OBSERVER=in-process)`,
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
  const ns = app.namespace;
  const observer = await startObserver(sandbox.env.clusters[0]!.adminKubeconfig, {
    force: {
      path: `/apis/external-secrets.io/v1/namespaces/${ns}/externalsecrets`,
      name: 'db-credentials',
      fingerprint: 'forceAnnotation',
    },
    synced: { path: `/api/v1/namespaces/${ns}/secrets`, name: 'db-credentials', fingerprint: 'secretData' },
    patched: { path: `/apis/apps/v1/namespaces/${ns}/deployments`, name: 'web', fingerprint: 'podTemplate' },
  });
  const { watches } = observer;
  log(`watches in the ${observer.where} (clock error ≤ ${observer.clockErrorMs.toFixed(3)} ms)`);
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
      const event = await newKeyVaultVersion(sandbox, kv, app.kvSecret, random());
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
    await observer.stop();
  }
  const of = (k: keyof (typeof samples)[number]) => summarise(samples.map((s) => s[k]));
  return {
    events: EVENTS,
    observer: { where: observer.where, clockErrorMs: Number(observer.clockErrorMs.toFixed(3)) },
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

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
