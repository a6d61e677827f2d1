/**
 * Cold start of rotor's host as its own process, from the bundle `npm start` runs (built
 * first when a source changed): process start → listening → first Event Grid event handled
 * (refresh forced, Secret updated, Deployment patched), with a cluster, Key Vault, OpenBao
 * and the state store configured. Then the process's RSS after RSS_EVENTS more events
 * (rotor alone: the servers and stand-ins run elsewhere).
 *
 *   npx tsx bench/cold-start.ts      → bench/results/cold-start.json
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { keyVaultClientForTest } from '../test/env/keyvault-client.js';
import { freePort } from '../test/env/ports.js';
import { startEnvironment } from '../test/env/sandbox.js';
import { sandboxConfig } from '../test/sandbox/config.js';
import { type SampleApp, seedAndDeploy } from '../test/sandbox/sample-app.js';
import { startSandbox } from '../test/sandbox/sandbox.js';
import { keyVaultEvent } from '../test/sandbox/scenarios.js';
import { HOST_KEY, revealedJson, rssOf, spawnHost, waitUntil } from './host-process.js';
import { summarise } from './stats.js';

const random = () => randomBytes(12).toString('base64url');
const log = (m: string) => console.log(`[cold-start] ${m}`);
const RUNS = 5;
const RSS_EVENTS = Number(process.env.ROTOR_BENCH_RSS_EVENTS ?? '1000');

async function main(): Promise<void> {
  const env = await startEnvironment({ clusters: 1, log });
  // The in-process sandbox only runs the operator stand-ins; events go to the child process.
  const sandbox = await startSandbox(env.descriptor);
  const runs: Array<{ readyMs: number; firstEventMs: number }> = [];
  let rss = { afterBytes: 0, peakBytes: 0 };
  // @ts-expect-error: a plain .mjs script without types
  const { ensureBuilt } = (await import('../scripts/build.mjs')) as {
    ensureBuilt: (o?: { log?: (m: string) => void }) => Promise<void>;
  };
  await ensureBuilt({ log });
  try {
    const app: SampleApp = {
      namespace: 'cold',
      kvSecret: 'cold-db',
      csiSecret: 'cold-tls',
      vaultMount: env.descriptor.openbao.kvMount,
      vaultPath: 'cold/api',
      vsoRefreshAfter: '60s',
    };
    await seedAndDeploy(sandbox, app, { kv: random(), vault: random() });
    const kv = keyVaultClientForTest(env.descriptor.lowkey);
    const config = sandboxConfig(env.descriptor, { dir: mkdtempSync(join(tmpdir(), 'rotor-cold-')) });
    for (let i = 0; i < RUNS; i++) {
      const port = await freePort();
      const t0 = performance.now();
      const child = spawnHost(port, revealedJson(config));
      try {
        // Listening means accepting connections; /api/health would also load and probe everything.
        await waitUntil(() => accepts(port), 60_000, 5);
        const readyMs = performance.now() - t0;
        await sendChange(kv, env.descriptor.lowkey.vaultName, app.kvSecret, port);
        runs.push({ readyMs, firstEventMs: performance.now() - t0 });
        if (i === 0) {
          let sent = 0;
          await Promise.all(
            Array.from({ length: 4 }, async () => {
              while (sent < RSS_EVENTS) {
                sent++;
                await sendChange(kv, env.descriptor.lowkey.vaultName, app.kvSecret, port);
              }
            }),
          );
          rss = memoryOf(child.pid);
          log(`host RSS after ${RSS_EVENTS} events: ${Math.round(rss.afterBytes / 1048576)} MiB`);
        }
      } finally {
        child.kill('SIGTERM');
      }
    }
    const result = {
      benchmark: 'cold-start',
      date: new Date().toISOString(),
      machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version },
      runtime: 'node dist/lib/host/main.js (esbuild bundle)',
      processStartToListening: summarise(runs.map((r) => r.readyMs)),
      processStartToFirstEventHandled: summarise(runs.map((r) => r.firstEventMs)),
      rssEvents: RSS_EVENTS,
      hostRssMiBAfterEvents: Math.round(rss.afterBytes / 1048576),
      hostPeakRssMiB: Math.round(rss.peakBytes / 1048576),
    };
    await mkdir(new URL('./results/', import.meta.url), { recursive: true });
    await writeFile(
      new URL('./results/cold-start.json', import.meta.url),
      `${JSON.stringify(result, null, 2)}\n`,
    );
    log(JSON.stringify(result, null, 2));
  } finally {
    await sandbox.stop();
    await env.stop();
  }
}

async function sendChange(
  kv: ReturnType<typeof keyVaultClientForTest>,
  vaultName: string,
  secret: string,
  port: number,
) {
  const version = (await kv.setSecret(secret, random())).properties.version ?? '';
  const res = await fetch(
    `http://127.0.0.1:${port}/runtime/webhooks/eventgrid?functionName=keyVaultEvents&code=${HOST_KEY}`,
    {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'aeg-event-type': 'Notification' },
      body: JSON.stringify([keyVaultEvent(vaultName, secret, version)]),
    },
  );
  if (!res.ok) throw new Error(`host answered ${res.status}: ${await res.text()}`);
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** The host's resident memory now and at its peak. */
function memoryOf(pid: number | undefined): { afterBytes: number; peakBytes: number } {
  return { afterBytes: rssOf(pid, 'VmRSS'), peakBytes: rssOf(pid, 'VmHWM') };
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
