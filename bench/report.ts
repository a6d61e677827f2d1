/**
 * Writes bench/results/summary.json and bench/README.md from bench/results/*.json: every
 * figure beside its target, then beside the poll baseline where there is one. Missing
 * results are reported as not measured, never invented.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';

type Json = Record<string, unknown>;

function read(name: string): Json | undefined {
  const url = new URL(`./results/${name}.json`, import.meta.url);
  return existsSync(url) ? (JSON.parse(readFileSync(url, 'utf8')) as Json) : undefined;
}

function get(obj: unknown, path: string): unknown {
  return path
    .split('.')
    .reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Json)[k] : undefined), obj);
}

const ms = (v: unknown) => (typeof v === 'number' ? `${v} ms` : 'n/a');
const ratio = (baselineMs: number, v: unknown) =>
  typeof v === 'number' && v > 0 ? `${Math.round(baselineMs / v).toLocaleString('en')}×` : 'n/a';

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const MiB = 1_048_576;
const mib = (v: unknown) => (typeof v === 'number' ? Math.round((v / MiB) * 10) / 10 : undefined);
/** The slowest of a list of deliveries ({ ms }). */
const maxOf = (v: unknown) =>
  Array.isArray(v) && v.length > 0
    ? Math.round(Math.max(...v.map((d) => Number((d as { ms?: unknown }).ms ?? Number.NaN))))
    : undefined;

/** Every figure of bench/results/summary.json, where it comes from, and its target. */
interface Figure {
  key: string;
  label: string;
  value: number | undefined;
  unit: 'ms' | 'MiB' | 'bytes' | '';
  /** Met when value <= max (undefined: reported, no target). */
  max?: number;
  target?: string;
}

function figures(r: Record<string, Json | undefined>): Figure[] {
  const { e2e, cold, scale, pkg, pods, flood } = r;
  const opSync = num(get(e2e, 'latency.operatorSync.p50Ms'));
  const deployments = num(get(e2e, 'burst.deployments'));
  return [
    {
      key: 'overhead.p50',
      label: 'rotor overhead (event → patch minus operator sync), p50',
      value: num(get(e2e, 'latency.overhead.p50Ms')),
      unit: 'ms',
      max: 10,
      target: '≤ 10 ms',
    },
    {
      key: 'overhead.p99',
      label: 'rotor overhead, p99',
      value: num(get(e2e, 'latency.overhead.p99Ms')),
      unit: 'ms',
      max: 30,
      target: '≤ 30 ms',
    },
    {
      key: 'eventToPatch.p50',
      label: 'event → patch (POST → pod template changed), p50',
      value: num(get(e2e, 'latency.eventToPatch.p50Ms')),
      unit: 'ms',
      ...(opSync !== undefined ? { max: opSync + 15 } : {}),
      target: '≤ operator sync p50 + 15 ms',
    },
    {
      key: 'eventToPatch.p99',
      label: 'event → patch, p99',
      value: num(get(e2e, 'latency.eventToPatch.p99Ms')),
      unit: 'ms',
    },
    {
      key: 'operatorSync.p50',
      label: 'operator sync (force annotation → Secret updated), p50',
      value: opSync,
      unit: 'ms',
    },
    {
      key: 'burst.wallMs',
      label: `burst: ${get(e2e, 'burst.events')} events for ${get(e2e, 'burst.secrets')} secrets, first POST → last delivery acknowledged`,
      value: num(get(e2e, 'burst.wallMs')),
      unit: 'ms',
      max: 5000,
      target: '≤ 5 s',
    },
    {
      key: 'burst.staleWorkloads',
      label: "burst: Deployments not carrying the hash of their Secrets' final data",
      value: num(get(e2e, 'burst.staleWorkloads')),
      unit: '',
      max: 0,
      target: '0',
    },
    {
      key: 'burst.rollouts',
      label: `burst: rollouts caused (without coalescing: ${get(e2e, 'burst.rolloutsWithoutCoalescing')})`,
      value: num(get(e2e, 'burst.rolloutsCaused')),
      unit: '',
      target: `floor: one per Deployment (${deployments ?? 'n/a'})`,
    },
    { key: 'burst.deployments', label: 'burst: Deployments', value: deployments, unit: '' },
    {
      key: 'podsReady.p50',
      label: `event → all ${get(pods, 'replicas') ?? 'n/a'} pods of a Deployment Ready on the new template (real controllers, KWOK), p50`,
      value: num(get(pods, 'eventToPodsReady.p50Ms')),
      unit: 'ms',
    },
    {
      key: 'podsReady.p99',
      label: 'event → all pods Ready on the new template, p99',
      value: num(get(pods, 'eventToPodsReady.p99Ms')),
      unit: 'ms',
    },
    {
      key: 'podsReady.patchToReadyP50',
      label: 'restart patch → all pods Ready (the rollout itself), p50',
      value: num(get(pods, 'patchToPodsReady.p50Ms')),
      unit: 'ms',
    },
    {
      key: 'coldStart.listeningMs',
      label: `cold start: process start → listening (${get(cold, 'runtime')}), p50`,
      value: num(get(cold, 'processStartToListening.p50Ms')),
      unit: 'ms',
      max: 400,
      target: '≤ 400 ms',
    },
    {
      key: 'coldStart.firstEventMs',
      label: 'cold start: process start → first event handled (clusters configured), p50',
      value: num(get(cold, 'processStartToFirstEventHandled.p50Ms')),
      unit: 'ms',
      max: 800,
      target: '≤ 800 ms',
    },
    {
      key: 'coldStart.rssAfterEventsMiB',
      label: `host RSS after ${get(cold, 'rssEvents') ?? 'n/a'} events`,
      value: num(get(cold, 'hostRssMiBAfterEvents')),
      unit: 'MiB',
      max: 200,
      target: '≤ 200 MiB after 1,000 events',
    },
    {
      key: 'scale.planP99',
      label: `scale: ${get(scale, 'shape.deployments')} Deployments / ${get(scale, 'shape.secrets')} Secrets, plan one change, p99`,
      value: num(get(scale, 'lookup.planOneChange.p99Ms')),
      unit: 'ms',
      max: 10,
      target: '≤ 10 ms',
    },
    {
      key: 'scale.indexBuildMs',
      label: 'scale: cold consumer-index build, time',
      value: num(get(scale, 'index.buildMs')),
      unit: 'ms',
      max: 2000,
      target: '< 2 s',
    },
    {
      key: 'scale.indexBuildMiB',
      label: 'scale: cold consumer-index build, memory (heap the index holds after a GC)',
      value: num(get(scale, 'index.heapHeldMiB')) ?? num(get(scale, 'index.buildMiB')),
      unit: 'MiB',
      max: 200,
      target: '< 200 MiB',
    },
    {
      key: 'flood.oneSecret.answerMs',
      label: 'one delivery of 6,000 events for one secret (issue #12.3): answered in',
      value: num(get(flood, 'oneSecretBatch.answerMs')),
      unit: 'ms',
      max: 5000,
      target: '≤ 5 s',
    },
    {
      key: 'flood.oneSecret.rssGrowthMiB',
      label: 'one delivery of 6,000 events for one secret: host RSS growth',
      value: mib(get(flood, 'oneSecretBatch.rssGrowthBytes')),
      unit: 'MiB',
      max: 100,
      target: '≤ 100 MiB',
    },
    {
      key: 'flood.oneSecret.healthMaxMs',
      label: 'one delivery of 6,000 events for one secret: slowest /api/health meanwhile',
      value: num(get(flood, 'oneSecretBatch.healthMaxMs')),
      unit: 'ms',
      max: 1000,
      target: '< 1 s',
    },
    {
      key: 'flood.distinct.deliveryMs',
      label: 'one delivery of 1,000 distinct secrets: slowest answer (done, or 503 and delivered again)',
      value: maxOf(get(flood, 'distinctSecretsBatch.deliveries')),
      unit: 'ms',
      max: 30_000,
      target: "≤ 30 s (Event Grid's timeout)",
    },
    {
      key: 'flood.distinct.healthMaxMs',
      label: 'one delivery of 1,000 distinct secrets: slowest /api/health meanwhile',
      value: num(get(flood, 'distinctSecretsBatch.healthMaxMs')),
      unit: 'ms',
      max: 1000,
      target: '< 1 s',
    },
    {
      key: 'flood.distinct.lost',
      label: 'one delivery of 1,000 distinct secrets: events not answered duplicate when delivered once more',
      value: num(get(flood, 'distinctSecretsBatch.lost')),
      unit: '',
      max: 0,
      target: '0',
    },
    {
      key: 'package.bytes',
      label: 'deployable package (host.json, package.json, dist/, production node_modules)',
      value: num(get(pkg, 'bytes')),
      unit: 'bytes',
      max: 60 * MiB,
      target: '≤ 60 MiB',
    },
  ];
}

function show(f: Figure): string {
  if (f.value === undefined) return 'not measured';
  if (f.unit === 'bytes') return `${(f.value / MiB).toFixed(1)} MiB (${f.value.toLocaleString('en')} bytes)`;
  return `${f.value}${f.unit ? ` ${f.unit}` : ''}`;
}

function verdict(f: Figure): string {
  if (f.max === undefined || f.value === undefined) return '';
  if (f.value <= f.max) return 'met';
  const over = f.value - f.max;
  const by =
    f.unit === 'bytes'
      ? `${(over / MiB).toFixed(1)} MiB`
      : `${Math.round(over * 10) / 10}${f.unit ? ` ${f.unit}` : ''}`;
  return `missed by ${by}`;
}

function setPath(obj: Json, path: string, value: unknown): void {
  const keys = path.split('.');
  let o = obj;
  for (const k of keys.slice(0, -1)) {
    o[k] ??= {};
    o = o[k] as Json;
  }
  o[keys.at(-1) as string] = value;
}

/** bench/analysis.md: where the time goes for targets missed, written from profiles of a run. */
function analysis(): string {
  const url = new URL('./analysis.md', import.meta.url);
  return existsSync(url) ? `\n${readFileSync(url, 'utf8').trim()}\n` : '';
}

export async function writeReport(): Promise<void> {
  const e2e = read('e2e');
  const refresh = read('refresh-latency');
  const cold = read('cold-start');
  const scale = read('restart-scale');
  const pkg = read('package-size');
  const pods = read('pods-ready');
  const flood = read('batch-flood');
  const figs = figures({ e2e, cold, scale, pkg, pods, flood });
  const summary: Json = {};
  for (const f of figs) setPath(summary, f.key, f.value ?? null);
  summary.machine = {
    cores: cpus().length,
    model: cpus()[0]?.model,
    memoryBytes: totalmem(),
    node: process.version,
    /** Load average (1, 5, 15 min) when the report was written: the machine is shared. */
    loadAverage: loadavg().map((l) => Math.round(l * 10) / 10),
  };
  summary.targets = Object.fromEntries(
    figs
      .filter((f) => f.target)
      .map((f) => [
        f.key,
        {
          target: f.target,
          ...(f.max !== undefined ? { max: f.max } : {}),
          met: f.max === undefined || f.value === undefined ? null : f.value <= f.max,
        },
      ]),
  );
  writeFileSync(new URL('./results/summary.json', import.meta.url), `${JSON.stringify(summary, null, 2)}\n`);
  const targets = [
    '| key in summary.json | measurement | value | target | |',
    '|---|---|---|---|---|',
    ...figs.map((f) => `| \`${f.key}\` | ${f.label} | ${show(f)} | ${f.target ?? ''} | ${verdict(f)} |`),
  ].join('\n');

  const rows: string[][] = [];
  const add = (what: string, value: string, baseline = '', vs = '') => rows.push([what, value, baseline, vs]);
  if (e2e) {
    const p = 'latency.eventToPatch';
    add(
      'event → restart patch (p50 / p95 / p99)',
      `${ms(get(e2e, `${p}.p50Ms`))} / ${ms(get(e2e, `${p}.p95Ms`))} / ${ms(get(e2e, `${p}.p99Ms`))}`,
      'ESO 1 h poll: 30 min average',
      ratio(1_800_000, get(e2e, `${p}.p50Ms`)),
    );
    add(
      `burst: ${get(e2e, 'burst.events')} events for ${get(e2e, 'burst.secrets')} secrets, ${get(e2e, 'burst.deployments')} Deployments`,
      `${ms(get(e2e, 'burst.wallMs'))}, ${get(e2e, 'burst.rolloutsCaused')} rollouts`,
      `without coalescing: ${get(e2e, 'burst.rolloutsWithoutCoalescing')} rollouts`,
    );
  }
  if (pods) {
    const p = 'eventToPodsReady';
    add(
      `event → all ${get(pods, 'replicas')} pods Ready on the new template (p50 / p95 / p99)`,
      `${ms(get(pods, `${p}.p50Ms`))} / ${ms(get(pods, `${p}.p95Ms`))} / ${ms(get(pods, `${p}.p99Ms`))}`,
      'ESO 1 h poll: 30 min average, then the same rollout',
      ratio(Number(get(pods, 'pollBaseline.p50Ms') ?? 0), get(pods, `${p}.p50Ms`)),
    );
  }
  if (refresh) {
    add(
      'ESO forced refresh → Secret updated (p50 / p95)',
      `${ms(get(refresh, 'eso.forced.forceToSecretUpdated.p50Ms'))} / ${ms(get(refresh, 'eso.forced.forceToSecretUpdated.p95Ms'))}`,
      `poll at 10 s: ${ms(get(refresh, 'eso.poll10s.p50Ms'))} p50; default 1 h`,
      ratio(1_800_000, get(refresh, 'eso.forced.forceToSecretUpdated.p50Ms')),
    );
    add(
      'VSO forced refresh → Secret updated (p50 / p95)',
      `${ms(get(refresh, 'vso.forced.forceToSecretUpdated.p50Ms'))} / ${ms(get(refresh, 'vso.forced.forceToSecretUpdated.p95Ms'))}`,
      `poll at 10 s: ${ms(get(refresh, 'vso.poll10s.p50Ms'))} p50; refreshAfter as configured`,
      ratio(
        Number(get(refresh, 'vso.defaultPoll.p50Ms') ?? 0),
        get(refresh, 'vso.forced.forceToSecretUpdated.p50Ms'),
      ),
    );
    add(
      'resolve derived objects for one secret (p50 / p95)',
      `${ms(get(refresh, 'resolve.p50Ms'))} / ${ms(get(refresh, 'resolve.p95Ms'))}`,
    );
  }
  const missing = [
    'e2e',
    'refresh-latency',
    'cold-start',
    'restart-scale',
    'package-size',
    'pods-ready',
  ].filter((n) => !read(n));
  const table = [
    '| measurement | rotor | poll baseline | rotor vs baseline |',
    '|---|---|---|---|',
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
  const text = `# Benchmarks

Generated by \`npm run bench\` (bench/run.ts → bench/report.ts) from \`bench/results/*.json\`.
Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node.js ${process.version}.
All figures come from real servers on loopback: kube-apiserver + etcd built from Go modules,
OpenBao, the Key Vault endpoint of the test environment, Azurite; the ESO and VSO
controllers are the stand-ins in test/standins (they follow the operators' contracts). The
e2e, burst and pods-ready benchmarks run the operator stand-ins and the Key Vault stand-in in
child processes of their own (bench/layout.ts), and the watches that time a single change in
another (bench/remote-observer.ts): rotor's process holds rotor and the burst's namespace
watches only, and all of them share the machine's cores.
The poll baseline is how long the same change waits without rotor: ESO's default
refreshInterval (1 h, 30 min on average), VSO's refreshAfter, the CSI driver's 2 min
rotation poll; Reloader then adds its own reaction time.

## Targets (bench/results/summary.json)

${targets}

## Beside polling

${table}
${analysis()}${missing.length > 0 ? `\nNot measured in this run: ${missing.join(', ')}.\n` : ''}
| file | benchmark |
|---|---|
| e2e.ts | 100 sequential events, event → patch; then burst.ts on the same sandbox |
| burst.ts | 1,000 events for 200 secrets / 20 Deployments, delivered like Event Grid: wall, rollouts, stale workloads, CPU per process, each run's steps |
| pods-ready.ts | event → every pod of a 3-replica Deployment Ready on the new template (real controllers, KWOK) |
| refresh-latency.ts | force → Secret updated per operator, beside polling |
| cold-start.ts | host process (the bundle in dist/) start → listening → first event handled; RSS after 1,000 events |
| restart-scale.ts | 10,000 workloads / 20,000 Secrets: index build, plan, burst, memory |
| package-size.ts | the deployable package after \`npm run build\` |
`;
  writeFileSync(new URL('./README.md', import.meta.url), text);
  console.log(text);
}

if (import.meta.url === `file://${process.argv[1]}`) await writeReport();
