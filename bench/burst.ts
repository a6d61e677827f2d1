/**
 * The burst (issue #14.2), run by bench/e2e.ts on its sandbox: BURST events for BURST/5 Key
 * Vault secrets (each changed once, each event delivered five times with distinct ids as a
 * noisy source would), consumed by BURST/50 Deployments of ten secrets each, delivered in
 * batches of 50 like Event Grid (non-2xx answers delivered again with backoff). Reports the
 * wall time until every delivery was acknowledged, the rollouts per Deployment, and how many
 * Deployments do not carry the hash of their Secrets' final data at the end (stale).
 *
 * Where the wall time goes, seen from outside rotor by watches on the burst's namespace:
 * per Deployment, how far apart its ten Secrets synced and how long after the last one its
 * final template change came; from the outcomes' own timelines, the time in each step.
 *   ROTOR_BENCH_BURST_PROFILE=file.cpuprofile   CPU profile of this process during the burst
 *   ROTOR_BENCH_BURST_TIMELINE=1                 one line per Deployment: syncs and patches
 *   ROTOR_BENCH_BURST_REQUESTS=1                 HTTP requests of this process during the burst, by kind
 *       (rotor's and the bench's; the stand-ins' too with ROTOR_BENCH_STANDINS=in-process)
 *   ROTOR_BENCH_BURST_APISERVER_PROFILE=file.pprof  the apiserver's CPU profile of the burst's first
 *       ROTOR_BENCH_BURST_APISERVER_PROFILE_S seconds (default 5; needs ROTOR_KUBE_PROFILING=1;
 *       read it with `go tool pprof -top file.pprof`)
 * and always: the CPU time each server process (this one, kube-apiserver, etcd, ...) spent in it.
 */
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import https from 'node:https';
import { Session } from 'node:inspector/promises';
import { envVarName, reloaderHash } from '../lib/kube/restart/index.js';
import type { Outcome, TimelineStep } from '../lib/outcome.js';
import { STANDIN_CONTROLLER_CLASS } from '../test/env/eso.js';
import { kubeClient } from '../test/env/index.js';
import { keyVaultClientForTest } from '../test/env/keyvault-client.js';
import type { Sandbox } from '../test/sandbox/sandbox.js';
import { keyVaultEvent, sendEventGrid } from '../test/sandbox/scenarios.js';
import { type Observer, startObserver } from './remote-observer.js';
import { summarise } from './stats.js';
import { RequestTrace } from './trace.js';

/** Event Grid's retry schedule, scaled (ROTOR_BENCH_RETRY_SCALE, default 1/100). */
const EVENT_GRID_RETRY_MS = [10_000, 30_000, 60_000, 300_000, 600_000, 1_800_000, 3_600_000];
const RETRY_SCALE = Number(process.env.ROTOR_BENCH_RETRY_SCALE ?? '0.01');
const PROFILE = process.env.ROTOR_BENCH_BURST_PROFILE;
const TIMELINE = process.env.ROTOR_BENCH_BURST_TIMELINE === '1';
const APISERVER_PROFILE = process.env.ROTOR_BENCH_BURST_APISERVER_PROFILE;
const APISERVER_PROFILE_S = Number(process.env.ROTOR_BENCH_BURST_APISERVER_PROFILE_S ?? '5');
const requests = process.env.ROTOR_BENCH_BURST_REQUESTS === '1' ? new RequestTrace() : undefined;
const random = () => randomBytes(12).toString('base64url');
const log = (m: string) => console.log(`[burst] ${m}`);

type Admin = ReturnType<typeof kubeClient>;

/** `labels`: names of this run's processes by pid (bench/layout.ts), for the CPU table. */
export async function runBurst(sandbox: Sandbox, burst: number, labels: Map<number, string>) {
  const secretCount = Math.max(1, Math.round(burst / 5));
  const deploymentCount = Math.max(1, Math.round(secretCount / 10));
  const env = sandbox.env;
  const admin = kubeClient(env.clusters[0]!, 'admin');
  const namespace = `burst-${random()
    .slice(0, 6)
    .toLowerCase()
    .replace(/[^a-z0-9]/g, 'x')}`;
  await admin.core.createNamespace({ body: { metadata: { name: namespace } } });
  const kv = keyVaultClientForTest(env.lowkey);
  const names = Array.from({ length: secretCount }, (_, i) => `burst-${i}`);
  const consumed = (di: number) => names.slice(di * 10, di * 10 + 10);
  log(`creating ${secretCount} secrets, ExternalSecrets and ${deploymentCount} Deployments`);
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
  const deployments = Array.from({ length: deploymentCount }, (_, d) => `app-${d}`);
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
                  env: consumed(di).map((n, k) => ({
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
    return list.items.length >= secretCount;
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
    Array.from({ length: Math.round(burst / secretCount) }, () =>
      keyVaultEvent(env.lowkey.vaultName, n, versions.get(n)!),
    ),
  );
  const from = sandbox.outcomes.length;
  const ids = new Set<string>(events.map((e) => e.id));
  // In a child process unless ROTOR_BENCH_OBSERVER=in-process: rotor's process runs rotor only.
  const seen = await startObserver(env.clusters[0]!.adminKubeconfig, {
    synced: { path: `/api/v1/namespaces/${namespace}/secrets`, fingerprint: 'secretData' },
    patched: { path: `/apis/apps/v1/namespaces/${namespace}/deployments`, fingerprint: 'podTemplate' },
  });
  if (seen.pid !== undefined) labels.set(seen.pid, "bench's watches");
  const profiler = PROFILE ? await startProfile() : undefined;
  const apiserverProfile = APISERVER_PROFILE ? apiserverCpuProfile(admin, APISERVER_PROFILE) : undefined;
  requests?.start();
  const cpuBefore = processCpu(labels);
  log(`delivering ${events.length} events in batches of 50, 4 deliveries at a time`);
  const t0 = performance.now();
  const batches = chunk(events, 50);
  const deliveries = {
    posts: 0,
    redeliveries: 0,
    deadLettered: 0,
    refused: {} as Record<string, number>,
    answerMs: [] as number[],
  };
  await inBatches(batches, 4, (b) => deliverLikeEventGrid(sandbox, b, deliveries));
  const wallMs = performance.now() - t0;
  const cpuMs = cpuSince(cpuBefore, labels);
  if (profiler) await profiler.stop(PROFILE as string);
  await apiserverProfile;
  if (requests) log(`requests during the burst:\n${requestsByKind(requests.stop(), namespace)}`);
  await new Promise((r) => setTimeout(r, 200)); // the watches' last events
  await seen.stop();
  const outcomes: Outcome[] = sandbox.outcomes.slice(from).filter((o) => ids.has(o.eventId));
  const generationsAfter = await generations(admin, namespace);
  const perDeployment = Object.fromEntries(
    [...generationsAfter].map(([name, g]) => [name, g - (generationsBefore.get(name) ?? g)]),
  );
  const rollouts = Object.values(perDeployment).reduce((sum, n) => sum + n, 0);
  const stale = await staleWorkloads(admin, namespace, names, finalValues);
  const perWorkload = deployments.map((d, di) => ofDeployment(seen, d, consumed(di), t0));
  if (TIMELINE) for (const w of perWorkload) log(w.line);
  return {
    events: events.length,
    secrets: secretCount,
    deployments: deploymentCount,
    wallMs: Math.round(wallMs),
    deliveries: { ...deliveries, answerMs: summarise(deliveries.answerMs) },
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
    /** From the runs' own timelines: where a run's time goes (receipt → pipeline start is claim and queue). */
    runSteps: runSteps(outcomes),
    /** Seen by the bench's watches, per Deployment: its Secrets' syncs spread, last sync → last patch. */
    workloads: {
      syncSpreadMs: summarise(perWorkload.map((w) => w.syncSpreadMs)),
      lastSyncToPatchMs: summarise(perWorkload.map((w) => w.lastSyncToPatchMs)),
    },
    /** CPU time (ms) each process spent during the burst, by label (bench/layout.ts) or command name. */
    cpuMs,
    rolloutsCaused: rollouts,
    rolloutsPerDeployment: perDeployment,
    rolloutsFloor: deploymentCount,
    rolloutsWithoutCoalescing: secretCount,
    staleWorkloads: stale.length,
    stale: stale.slice(0, 5),
  };
}

/** Per step of the runs' timelines, the time since the previous step (ms). */
function runSteps(outcomes: Outcome[]) {
  const steps: TimelineStep[] = [
    'received',
    'resolved',
    'refresh-forced',
    'secret-updated',
    'workloads-patched',
  ];
  const runs = outcomes.filter((o) => o.status !== 'duplicate' && !o.sharedRunOf);
  return Object.fromEntries(
    steps.map((step, i) => {
      const deltas = runs.flatMap((o) => {
        const at = o.timeline.find((t) => t.step === step)?.atMs;
        const before = i === 0 ? 0 : o.timeline.find((t) => t.step === steps[i - 1])?.atMs;
        return at === undefined || before === undefined ? [] : [at - before];
      });
      return [step, summarise(deltas)];
    }),
  );
}

/** Requests counted by who sent them, method and path (names and query left out). */
function requestsByKind(spans: readonly RequestTrace['spans'][number][], namespace: string): string {
  const counts = new Map<string, { n: number; ms: number }>();
  for (const s of spans) {
    const path = s.path
      .replace(/\?.*$/, (q) => (q.includes('watch=true') ? '?watch' : ''))
      .replace(`/namespaces/${namespace}/`, '/namespaces/NS/')
      .replace(/\/(burst|app)-\d+/g, '/NAME')
      .replace(/\/[0-9a-f]{32}$/, '/VERSION')
      .replace(/\(PartitionKey='[^']*',RowKey='[^']*'\)/, '(KEY)');
    const key = `${s.who.padEnd(12)} ${s.method.padEnd(6)} ${s.host.startsWith('server') ? 'server ' : ''}${path}`;
    const c = counts.get(key) ?? { n: 0, ms: 0 };
    c.n++;
    c.ms += (s.end ?? s.start) - s.start;
    counts.set(key, c);
  }
  return [...counts]
    .sort((a, b) => b[1].n - a[1].n)
    .map(([k, c]) => `${String(c.n).padStart(6)} ${String(Math.round(c.ms / c.n)).padStart(6)} ms  ${k}`)
    .join('\n');
}

/** Per Deployment, from the bench's watches: its Secrets' syncs spread, and last sync → last patch. */
function ofDeployment(changes: Observer<'synced' | 'patched'>, name: string, secrets: string[], t0: number) {
  const syncs = secrets.flatMap((s) => changes.watches.synced.changesOf(s)).sort((a, b) => a - b);
  const patches = changes.watches.patched.changesOf(name);
  const first = syncs[0] ?? t0;
  const lastSync = syncs.at(-1) ?? t0;
  const lastPatch = patches.at(-1) ?? lastSync;
  const rel = (t: number) => Math.round(t - t0);
  return {
    syncSpreadMs: lastSync - first,
    lastSyncToPatchMs: lastPatch - lastSync,
    line: `${name}: syncs ${syncs.map(rel).join(' ')} | patches ${patches.map(rel).join(' ')}`,
  };
}

/**
 * utime + stime (ms) of this process and every descendant, by label (its pid in `labels`)
 * or command name (Linux /proc).
 */
function processCpu(labels: Map<number, string>): Map<string, number> {
  const byPid = new Map<number, { ppid: number; comm: string; ms: number }>();
  const tick = 10; // USER_HZ 100
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      byPid.set(Number(pid), { ppid: Number(f[1]), comm, ms: (Number(f[11]) + Number(f[12])) * tick });
    } catch {
      // exited meanwhile
    }
  }
  const ours = (pid: number): boolean => {
    for (let p = pid, hops = 0; p > 1 && hops < 20; hops++) {
      if (p === process.pid) return true;
      p = byPid.get(p)?.ppid ?? 0;
    }
    return false;
  };
  const out = new Map<string, number>();
  for (const [pid, p] of byPid) if (ours(pid)) out.set(`${labels.get(pid) ?? p.comm}#${pid}`, p.ms);
  return out;
}

function cpuSince(before: Map<string, number>, labels: Map<number, string>): Record<string, number> {
  const byName: Record<string, number> = {};
  for (const [key, ms] of processCpu(labels)) {
    const used = ms - (before.get(key) ?? 0);
    const name = key.slice(0, key.lastIndexOf('#'));
    if (used > 0) byName[name] = (byName[name] ?? 0) + used;
  }
  return Object.fromEntries(Object.entries(byName).sort((a, b) => b[1] - a[1]));
}

async function startProfile() {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 500 });
  await session.post('Profiler.start');
  return {
    async stop(file: string) {
      const { profile } = await session.post('Profiler.stop');
      await writeFile(file, JSON.stringify(profile));
      session.disconnect();
      log(`CPU profile of the burst written to ${file}`);
    },
  };
}

/** kube-apiserver's own CPU profile (Go pprof) of the next APISERVER_PROFILE_S seconds, to `file`. */
async function apiserverCpuProfile(admin: Admin, file: string): Promise<void> {
  const url = `${admin.kc.getCurrentCluster()?.server}/debug/pprof/profile?seconds=${APISERVER_PROFILE_S}`;
  const options: https.RequestOptions = {};
  await admin.kc.applyToHTTPSOptions(options);
  const body = await new Promise<Buffer>((resolve, reject) => {
    https
      .get(url, options, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          res.statusCode === 200
            ? resolve(Buffer.concat(chunks))
            : reject(new Error(`apiserver profile: ${res.statusCode} (ROTOR_KUBE_PROFILING=1 set?)`)),
        );
      })
      .on('error', reject);
  });
  await writeFile(file, body);
  log(`apiserver CPU profile of the burst written to ${file}`);
}

/**
 * Event Grid's delivery contract: a non-2xx answer (or no answer) is delivered again
 * later, with the same event ids, following its retry schedule (10 s, 30 s, 1 min, 5 min,
 * ...), here scaled by RETRY_SCALE so a bench run stays short.
 */
async function deliverLikeEventGrid(
  sandbox: Sandbox,
  events: unknown[],
  count: {
    posts: number;
    redeliveries: number;
    deadLettered: number;
    refused: Record<string, number>;
    answerMs: number[];
  },
): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    count.posts++;
    const sent = performance.now();
    if (attempt > 0) count.redeliveries++;
    const res = await sendEventGrid(sandbox, events).catch(
      (error: unknown) => ({ ok: false, status: String((error as Error).message) }) as const,
    );
    count.answerMs.push(performance.now() - sent);
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
  admin: Admin,
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

async function generations(admin: Admin, namespace: string) {
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
