/**
 * `npm run demo`: the whole product on one machine, no cloud account. Starts the sandbox
 * (real kube-apiservers, OpenBao, the Key Vault stand-in, Azurite, PostgreSQL, the ESO/VSO
 * stand-ins and rotor's local host), deploys a sample app, runs three scenarios, prints a
 * timeline per scenario and a summary beside the poll baseline, and cleans everything up.
 */
import { randomBytes } from 'node:crypto';
import { refreshInWords, stepInWords } from '../lib/cli/plain-words.js';
import type { Outcome } from '../lib/outcome.js';
import { rolloutText } from '../lib/rollout-text.js';
import { startEnvironment } from '../test/env/sandbox.js';
import { type SampleApp, seedAndDeploy } from '../test/sandbox/sample-app.js';
import { startSandbox } from '../test/sandbox/sandbox.js';
import {
  addRotationPolicy,
  keyVaultUpdate,
  openBaoWrite,
  policyRotation,
  type ScenarioRun,
} from '../test/sandbox/scenarios.js';

const POLL_BASELINE = {
  eso: { label: 'ESO refreshInterval 1h', ms: 3_600_000 },
  vso: { label: 'VSO refreshAfter 60s', ms: 60_000 },
  csi: { label: 'CSI rotation poll 2m', ms: 120_000 },
};

const say = (msg: string) => console.log(`${new Date().toISOString().slice(11, 23)}  ${msg}`);
const random = () => randomBytes(12).toString('base64url');

async function main(): Promise<number> {
  const started = performance.now();
  say(
    'starting the sandbox (first run builds kube-apiserver and downloads servers; later runs take seconds)',
  );
  const env = await startEnvironment({ clusters: 2, log: (m) => say(`  ${m}`) });
  let sandbox: Awaited<ReturnType<typeof startSandbox>> | undefined;
  try {
    sandbox = await startSandbox(env.descriptor);
    say(
      `rotor local host listening on ${sandbox.host.url} (every route needs its key: ${sandbox.host.keyFile ?? 'ROTOR_HOST_KEY'})`,
    );
    const app: SampleApp = {
      namespace: 'demo',
      kvSecret: 'demo-db-password',
      // The same Key Vault secret reaches the pod twice: synced by ESO and mounted by CSI.
      csiSecret: 'demo-db-password',
      vaultMount: env.descriptor.openbao.kvMount,
      vaultPath: 'demo/api',
      vsoRefreshAfter: '60s',
    };
    await seedAndDeploy(sandbox, app, { kv: random(), vault: random() });
    say('sample app deployed in both clusters and synced by the operator stand-ins:');
    say(`  Deployment demo/web <- ExternalSecret db-credentials (Key Vault ${app.kvSecret}),`);
    say(
      `  VaultStaticSecret api-key (OpenBao ${app.vaultMount}/${app.vaultPath}), SecretProviderClass tls (Key Vault ${app.csiSecret})`,
    );

    const runs: ScenarioRun[] = [];
    say('scenario 1: new Key Vault version, delivered as an Event Grid event');
    runs.push(await keyVaultUpdate(sandbox, app, random()));
    printRun(runs.at(-1)!);
    say('scenario 2: OpenBao KV v2 write, seen through the http audit device');
    runs.push(await openBaoWrite(sandbox, app, random()));
    printRun(runs.at(-1)!);
    say('scenario 3: rotation policy on the Key Vault secret, SecretNearExpiry event');
    await addRotationPolicy(sandbox, app, random());
    runs.push(await policyRotation(sandbox, app));
    printRun(runs.at(-1)!);

    printSummary(runs);
    const failed = runs.filter(
      (r) =>
        r.outcome.status !== 'completed' ||
        !r.final.workloads.some((w) => w.status === 'restarted') ||
        r.final.workloads.some((w) => w.status === 'restarted' && w.rollout?.status !== 'rolled-out'),
    );
    say(`done in ${((performance.now() - started) / 1000).toFixed(1)} s; cleaning up`);
    if (failed.length > 0) {
      console.error(
        `demo: ${failed.map((f) => f.name).join(', ')} did not complete with every restart rolled out`,
      );
      return 1;
    }
    return 0;
  } finally {
    await sandbox?.stop();
    await env.stop();
  }
}

function printRun(run: ScenarioRun): void {
  // The final outcome: rotor answered before the rollouts ended; the follow-up completed it.
  const o = run.final;
  console.log(
    `\n  ${run.name} (${run.trigger}): ${o.status}${o.rotation && 'newVersion' in o.rotation ? `, rotated to ${o.rotation.newVersion}` : ''}`,
  );
  for (const t of o.timeline)
    console.log(`    ${String(t.atMs).padStart(6)} ms  ${stepInWords(t.step, t.detail)}`);
  for (const r of o.refreshes)
    console.log(
      `    refresh  ${r.cluster.padEnd(6)} ${r.kind} ${r.namespace}/${r.name}: ${refreshInWords(r)}`,
    );
  for (const w of o.workloads) {
    const why = 'reason' in w ? ` (${w.reason})` : 'error' in w ? ` (${w.error.message})` : '';
    const rollout = w.status === 'restarted' && w.rollout ? `, ${rolloutText(w.rollout)}` : '';
    console.log(
      `    workload ${w.cluster.padEnd(6)} ${w.kind} ${w.namespace}/${w.name}: ${w.status}${why}${rollout}`,
    );
  }
  for (const c of o.clusterFailures) console.log(`    cluster ${c.cluster}: ${c.error.message}`);
  console.log('');
}

function patchedMs(o: Outcome): number | undefined {
  return o.timeline.filter((t) => t.step === 'workloads-patched').at(-1)?.atMs;
}

function printSummary(runs: ScenarioRun[]): void {
  const baselineFor = (o: Outcome) =>
    o.refreshes.some((r) => r.operator === 'vso') ? POLL_BASELINE.vso : POLL_BASELINE.eso;
  const rows = runs.map((r) => {
    const patched = patchedMs(r.outcome);
    const base = baselineFor(r.outcome);
    return [
      r.name,
      r.trigger,
      patched === undefined ? '-' : `${patched} ms`,
      `${Math.round(r.wallMs)} ms`,
      `${(r.rolledOutMs / 1000).toFixed(1)} s`,
      `${r.outcome.workloads.filter((w) => w.status === 'restarted').length}`,
      `${base.label} (avg ${base.ms / 2 / 1000} s)`,
      patched ? `${Math.round(base.ms / 2 / Math.max(1, r.wallMs))}x` : '-',
    ];
  });
  const header = [
    'scenario',
    'trigger',
    'event->patch',
    'change->done',
    'change->pods Ready',
    'restarted',
    'poll baseline (same change)',
    'faster than the average poll wait',
  ];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => `  ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ')}`;
  console.log(
    "\nsummary: rotor vs waiting for the operators to poll. A change lands on average half a poll interval\nbefore the next poll, so the last column is (poll interval / 2) / change->done. CSI-mounted content\notherwise waits for the driver's 2 min rotation poll.",
  );
  console.log(line(header));
  console.log(line(widths.map((w) => '-'.repeat(w))));
  for (const r of rows) console.log(line(r));
  console.log('');
}

main()
  .then((code) => process.exit(code))
  .catch((error: unknown) => {
    // The message says what failed and why; the stack only helps someone debugging rotor itself.
    const e = error as Error & { cause?: unknown };
    const cause = e.cause instanceof Error ? ` (cause: ${e.cause.message})` : '';
    console.error(`demo failed: ${e.message ?? e}${cause}`);
    if (process.argv.includes('--verbose')) console.error(e.stack);
    process.exit(1);
  });
