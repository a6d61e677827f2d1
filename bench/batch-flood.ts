/**
 * One delivery must not take the host down (issue #12.3). rotor's host as its own process,
 * in front of one real cluster with the sample app, receives:
 *   A. one Event Grid batch of 6,000 SecretNewVersionCreated events for the same configured
 *      secret, without Version (the reproduction: 6,000 runs, RSS 279 MiB → 2.35 GB,
 *      /api/health unanswered for ~170 s);
 *   B. one batch of 1,000 events for 1,000 distinct secrets, redelivered while the host
 *      answers 503, as Event Grid would, until every event is answered.
 * Throughout, /api/health is polled back to back; the host's RSS is sampled every 50 ms.
 *
 *   npx tsx bench/batch-flood.ts      → bench/results/batch-flood.json
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../test/env/ports.js';
import { startEnvironment } from '../test/env/sandbox.js';
import { sandboxConfig } from '../test/sandbox/config.js';
import { seedAndDeploy } from '../test/sandbox/sample-app.js';
import { startSandbox } from '../test/sandbox/sandbox.js';
import { BUILT, HOST_KEY, revealedJson, rssOf, spawnHost, waitUntil } from './host-process.js';

const log = (m: string) => console.log(`[batch-flood] ${m}`);
const random = () => randomBytes(12).toString('base64url');
const MAX_BODY_BYTES = 1_572_864;

/** The smallest Event Grid event the Key Vault decoder accepts: no Version, like the reproduction. */
function newVersionEvent(vaultName: string, secret: string) {
  return {
    id: randomUUID(),
    subject: secret,
    eventType: 'Microsoft.KeyVault.SecretNewVersionCreated',
    eventTime: new Date().toISOString(),
    data: { VaultName: vaultName, ObjectType: 'Secret', ObjectName: secret },
    dataVersion: '1',
  };
}

interface Probe {
  stop(): Promise<{ healthMaxMs: number; healthPolls: number; healthFailures: number; rssMaxBytes: number }>;
}

/** Polls /api/health back to back and samples RSS until stopped. */
function probe(url: string, pid: number | undefined): Probe {
  let running = true;
  let healthMaxMs = 0;
  let healthPolls = 0;
  let healthFailures = 0;
  let rssMaxBytes = rssOf(pid, 'VmRSS');
  const sampler = setInterval(() => {
    rssMaxBytes = Math.max(rssMaxBytes, rssOf(pid, 'VmRSS'));
  }, 50);
  const polling = (async () => {
    while (running) {
      const t0 = performance.now();
      const res = await fetch(`${url}/api/health?code=${HOST_KEY}`).catch(() => undefined);
      await res?.arrayBuffer();
      healthMaxMs = Math.max(healthMaxMs, performance.now() - t0);
      healthPolls++;
      if (!res) healthFailures++;
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  return {
    async stop() {
      running = false;
      await polling;
      clearInterval(sampler);
      return { healthMaxMs, healthPolls, healthFailures, rssMaxBytes };
    },
  };
}

async function deliver(url: string, events: unknown[]) {
  const t0 = performance.now();
  const body = JSON.stringify(events);
  const res = await fetch(`${url}/runtime/webhooks/eventgrid?functionName=keyVaultEvents&code=${HOST_KEY}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'aeg-event-type': 'Notification' },
    body,
  });
  const answer = (await res.json()) as { results?: Array<{ status: string; outcome?: { status: string } }> };
  return { status: res.status, ms: performance.now() - t0, bytes: Buffer.byteLength(body), answer };
}

async function main(): Promise<void> {
  const env = await startEnvironment({ clusters: 1, log });
  const sandbox = await startSandbox(env.descriptor);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  try {
    const app = {
      namespace: 'flood',
      kvSecret: 'flood-db',
      csiSecret: 'flood-tls',
      vaultMount: env.descriptor.openbao.kvMount,
      vaultPath: 'flood/api',
      vsoRefreshAfter: '60s',
    };
    await seedAndDeploy(sandbox, app, { kv: random(), vault: random() });
    const config = sandboxConfig(env.descriptor, { dir: mkdtempSync(join(tmpdir(), 'rotor-flood-')) });
    const child = spawnHost(
      port,
      revealedJson({ ...config, webhook: { ...config.webhook, maxBodyBytes: MAX_BODY_BYTES } }),
    );
    try {
      await waitUntil(
        async () => (await fetch(`${url}/api/health?code=${HOST_KEY}`).catch(() => undefined))?.ok ?? false,
      );
      const vault = env.descriptor.lowkey.vaultName;
      // Warm: the first event pays for the consumer index and TLS; the batch should not.
      await deliver(url, [newVersionEvent(vault, app.kvSecret)]);

      log('A: 6,000 events for one secret');
      const rssBeforeA = rssOf(child.pid, 'VmRSS');
      const probeA = probe(url, child.pid);
      const a = await deliver(
        url,
        Array.from({ length: 6_000 }, () => newVersionEvent(vault, app.kvSecret)),
      );
      const seenA = await probeA.stop();
      // Events answered by a run of their own (the others name the run they shared).
      const runsA = (a.answer.results ?? []).filter(
        (r) => !(r.outcome as { sharedRunOf?: string } | undefined)?.sharedRunOf,
      ).length;

      log('B: 1,000 distinct secrets, redelivered on 503');
      const batchB = Array.from({ length: 1_000 }, (_, i) => newVersionEvent(vault, `flood-${i}`));
      const rssBeforeB = rssOf(child.pid, 'VmRSS');
      const probeB = probe(url, child.pid);
      const startedB = performance.now();
      const deliveries: Array<{ status: number; ms: number }> = [];
      let last = await deliver(url, batchB);
      deliveries.push({ status: last.status, ms: last.ms });
      while (last.status === 503 && deliveries.length < 50) {
        await new Promise((r) => setTimeout(r, 500));
        last = await deliver(url, batchB);
        deliveries.push({ status: last.status, ms: last.ms });
      }
      const totalB = performance.now() - startedB;
      const seenB = await probeB.stop();
      const answeredB = (last.answer.results ?? []).filter((r) => r.status === 'processed').length;
      // No event lost: delivered once more, as Event Grid may, every one of the 1,000 is
      // answered 'duplicate', i.e. recorded as done exactly once.
      const again = await deliver(url, batchB);
      const duplicates = (again.answer.results ?? []).filter((r) => r.outcome?.status === 'duplicate').length;

      const result = {
        benchmark: 'batch-flood',
        date: new Date().toISOString(),
        machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version },
        runtime: BUILT ? 'node dist/ (compiled)' : 'node --import tsx (TypeScript compiled on load)',
        settings: {
          runConcurrency: config.runs.concurrency,
          runQueueLimit: config.runs.queueLimit,
          maxBodyBytes: MAX_BODY_BYTES,
        },
        oneSecretBatch: {
          events: 6_000,
          bytes: a.bytes,
          status: a.status,
          answerMs: Math.round(a.ms),
          answered: a.answer.results?.length ?? 0,
          pipelineRuns: runsA,
          rssGrowthBytes: seenA.rssMaxBytes - rssBeforeA,
          healthMaxMs: Math.round(seenA.healthMaxMs),
          healthPolls: seenA.healthPolls,
          healthFailures: seenA.healthFailures,
          targets: { answerMs: 5_000, rssGrowthBytes: 100 * 1024 * 1024, healthMaxMs: 1_000 },
        },
        distinctSecretsBatch: {
          events: 1_000,
          deliveries,
          finalStatus: last.status,
          answeredInFinalDelivery: answeredB,
          redelivery: { status: again.status, ms: Math.round(again.ms), duplicates },
          lost: batchB.length - duplicates,
          totalMs: Math.round(totalB),
          rssGrowthBytes: seenB.rssMaxBytes - rssBeforeB,
          healthMaxMs: Math.round(seenB.healthMaxMs),
          healthPolls: seenB.healthPolls,
          healthFailures: seenB.healthFailures,
          targets: { deliveryMs: 30_000, healthMaxMs: 1_000, lost: 0 },
        },
      };
      await mkdir(new URL('./results/', import.meta.url), { recursive: true });
      await writeFile(
        new URL('./results/batch-flood.json', import.meta.url),
        `${JSON.stringify(result, null, 2)}\n`,
      );
      log(JSON.stringify(result, null, 2));
    } finally {
      child.kill('SIGTERM');
    }
  } finally {
    await sandbox.stop();
    await env.stop();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
