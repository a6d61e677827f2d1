/**
 * Refresh latency: how long a changed secret takes to reach its Kubernetes Secret when
 * rotor forces the sync operator, next to the same change waiting for the operator's
 * poll. Runs the real ESO controller (test/env/eso.ts) against OpenBao, the ESO stand-in
 * against the Key Vault endpoint (for comparison: Key Vault needs Entra ID, so ESO's azurekv
 * provider cannot run here) and the VSO stand-in against OpenBao, on a real kube-apiserver.
 *
 *   npx tsx bench/refresh-latency.ts
 *   ROTOR_TEST_ENV_FILE=.cache/env.json npx tsx bench/refresh-latency.ts   (reuse a running env)
 *   ROTOR_BENCH_SAMPLES=5 npx tsx bench/refresh-latency.ts                  (quick look)
 *   ROTOR_BENCH_RESULTS=/tmp/r.json ...                                     (write elsewhere)
 *
 * Per operator:
 *  - forced: n sequential changes; each: write a new backend version, then rotor's
 *    refreshDerived (restricted identity) on the resolved object. Reported: force → the
 *    target Secret's data changed (seen by a watch on the Secret), and force → rotor has
 *    confirmed completion (what the pipeline waits for);
 *  - poll: n objects with a 10 s interval, each changed at a random moment of its poll
 *    cycle, no force: change → Secret updated;
 *  - the default interval (ESO refreshInterval 1h, VSO refreshAfter as in the fixture):
 *    a poll's lag is uniform over the interval, so p50 = interval/2, p95 = 0.95·interval;
 *    the 10 s measurement checks that model.
 * Writes bench/results/refresh-latency.json.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { KubeConfig, Watch } from '@kubernetes/client-node';
import { parse } from 'yaml';
import { KeyVaultConfigSchema } from '../lib/config.js';
import { type ClusterClient, clusterClientFromKubeConfig } from '../lib/kube/cluster.js';
import { parseGoDuration } from '../lib/kube/duration.js';
import { type DerivedObject, refreshDerived, resolveDerived } from '../lib/kube/operators/index.js';
import { SecretRefSchema } from '../lib/secret-ref.js';
import type { EnvDescriptor } from '../test/env/descriptor.js';
import { keyVaultClientForTest } from '../test/env/keyvault-client.js';
import { startEnvironment } from '../test/env/sandbox.js';
import { startEsoStandin } from '../test/standins/eso-standin.js';
import { startVsoStandin } from '../test/standins/vso-standin.js';

type Env = Pick<EnvDescriptor, 'clusters' | 'openbao' | 'lowkey' | 'eso'>;

const SAMPLES = Number(process.env.ROTOR_BENCH_SAMPLES ?? '20');
const POLL = '10s';
const POLL_MS = parseGoDuration(POLL) as number;
const started = performance.now();
const log = (msg: string) => console.log(`[${((performance.now() - started) / 1000).toFixed(1)} s] ${msg}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function environment(): Promise<{ env: Env; stop: () => Promise<void> }> {
  const reuse = process.env.ROTOR_TEST_ENV_FILE;
  if (reuse) return { env: JSON.parse(await readFile(reuse, 'utf8')) as Env, stop: async () => {} };
  const running = await startEnvironment({ clusters: 1, log, eso: true });
  return { env: running.descriptor, stop: running.stop };
}

function client(yaml: string, name: string): ClusterClient {
  const kc = new KubeConfig();
  kc.loadFromString(yaml);
  return clusterClientFromKubeConfig(name, kc);
}

interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  spec: Record<string, unknown>;
}

function fixture(file: string, name: string, namespace: string): Manifest {
  const text = readFileSync(new URL(`../test/fixtures/operators/${file}`, import.meta.url), 'utf8');
  const obj = parse(text) as Manifest;
  obj.metadata = { ...obj.metadata, name, namespace };
  return obj;
}

function percentile(sorted: number[], p: number): number {
  return (
    sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN
  );
}

function stats(samples: number[]) {
  const sorted = [...samples].sort((a, b) => a - b);
  const r = (n: number) => Math.round(n);
  return {
    n: samples.length,
    p50Ms: r(percentile(sorted, 50)),
    p95Ms: r(percentile(sorted, 95)),
    minMs: r(sorted[0] ?? 0),
    maxMs: r(sorted[sorted.length - 1] ?? 0),
  };
}

function pollModel(interval: string) {
  const ms = parseGoDuration(interval) as number;
  return { interval, p50Ms: Math.round(ms / 2), p95Ms: Math.round(ms * 0.95) };
}

/** Records when each Secret of a namespace last changed its data, by watching it. */
class SecretClock {
  private readonly waiters = new Map<
    string,
    Array<{ until: (data: Record<string, string>) => boolean; resolve: (t: number) => void }>
  >();
  private controller?: AbortController;

  constructor(
    private readonly kc: KubeConfig,
    private readonly namespace: string,
  ) {}

  async start(): Promise<void> {
    this.controller = await new Watch(this.kc).watch(
      `/api/v1/namespaces/${this.namespace}/secrets`,
      {},
      (_phase, obj: { metadata: { name: string }; data?: Record<string, string> }) => {
        const t = performance.now();
        const list = this.waiters.get(obj.metadata.name) ?? [];
        for (const w of [...list]) {
          if (w.until(obj.data ?? {})) {
            w.resolve(t);
            list.splice(list.indexOf(w), 1);
          }
        }
      },
      () => {},
    );
  }

  /** Resolves with the performance.now() at which the Secret's data satisfied `until`. */
  when(name: string, until: (data: Record<string, string>) => boolean): Promise<number> {
    return new Promise((resolve) => {
      const list = this.waiters.get(name) ?? [];
      list.push({ until, resolve });
      this.waiters.set(name, list);
    });
  }

  stop(): void {
    this.controller?.abort();
  }
}

const has = (key: string, value: string) => (data: Record<string, string>) =>
  Buffer.from(data[key] ?? '', 'base64').toString() === value;

interface Subject {
  /** Writes a new backend value. */
  change(value: string): Promise<void>;
  key: string;
}

async function measureForced(
  rotor: ClusterClient,
  clock: SecretClock,
  derived: DerivedObject[],
  target: string,
  subject: Subject,
) {
  const toSecret: number[] = [];
  const toConfirmed: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    // The real ESO may reconcile the previous force once more (its Secret write wakes it
    // before its own status reached its cache): let that pass, or it reads the new value
    // before the force and the sample measures nothing.
    await sleep(500);
    const value = `forced-${i}-${randomUUID()}`;
    await subject.change(value);
    const seen = clock.when(target, has(subject.key, value));
    const t0 = performance.now();
    const { results } = await refreshDerived(rotor, derived, { timeoutMs: 30_000 });
    const t1 = performance.now();
    const r = results[0];
    if (r?.status !== 'refreshed' || !r.secretChanged) throw new Error(`sample ${i}: ${JSON.stringify(r)}`);
    toSecret.push((await seen) - t0);
    toConfirmed.push(t1 - t0);
  }
  return { forceToSecretUpdated: stats(toSecret), forceToConfirmed: stats(toConfirmed) };
}

async function measurePoll(clock: SecretClock, lanes: Array<{ target: string; subject: Subject }>) {
  const lags = await Promise.all(
    lanes.map(async ({ target, subject }) => {
      await sleep(Math.random() * POLL_MS);
      const value = `polled-${randomUUID()}`;
      const seen = clock.when(target, has(subject.key, value));
      await subject.change(value);
      const t0 = performance.now();
      return (await seen) - t0;
    }),
  );
  return stats(lags);
}

async function main(): Promise<void> {
  log(`starting the environment (${SAMPLES} samples per measurement)`);
  const { env, stop } = await environment();
  if (!env.eso) throw new Error('the environment runs no real ESO controller: start it with { eso: true }');
  const cluster = env.clusters[0]!;
  const admin = client(cluster.adminKubeconfig, cluster.name);
  const rotor = client(cluster.rotorKubeconfig, cluster.name);
  const ns = `bench-refresh-${randomUUID().slice(0, 8)}`;
  await admin.core.createNamespace({ body: { metadata: { name: ns } } });
  const clock = new SecretClock(admin.kc, ns);
  await clock.start();
  const kv = keyVaultClientForTest(env.lowkey);
  const bao = (await import('node-vault')).default({
    endpoint: env.openbao.address,
    token: env.openbao.rootToken,
  });
  const operatorNs = `${ns}-vso`;
  await admin.core.createNamespace({ body: { metadata: { name: operatorNs } } });
  const eso = await startEsoStandin({
    kubeconfig: cluster.adminKubeconfig,
    keyVault: { caPem: env.lowkey.caPem },
    namespaces: [ns],
  });
  const vso = await startVsoStandin({
    kubeconfig: cluster.adminKubeconfig,
    vault: { token: env.openbao.rootToken },
    operatorNamespace: operatorNs,
    namespaces: [ns],
  });
  const resolveOpts = {
    keyVaultConfigs: [
      KeyVaultConfigSchema.parse({
        name: env.lowkey.vaultName,
        url: env.lowkey.vaultUrl,
        auth: { kind: 'emulator' },
      }),
    ],
    vsoOperatorNamespace: operatorNs,
  };
  try {
    const store = fixture('secretstore-azurekv.yaml', 'azure-store', ns);
    (store.spec.provider as { azurekv: { vaultUrl: string } }).azurekv.vaultUrl = env.lowkey.vaultUrl;
    await admin.objects.create(store as never);
    const connection = fixture('vaultconnection.yaml', 'default', operatorNs);
    connection.spec.address = env.openbao.address;
    await admin.objects.create(connection as never);
    await admin.objects.create(fixture('vaultauth.yaml', 'default', operatorNs) as never);
    // The real ESO reads OpenBao through a Vault SecretStore with the root token.
    await admin.core.createNamespacedSecret({
      namespace: ns,
      body: { metadata: { name: 'vault-token' }, stringData: { token: env.openbao.rootToken } },
    });
    const vaultStore = fixture('secretstore-vault.yaml', 'vault-store', ns);
    (vaultStore.spec.provider as { vault: { server: string } }).vault.server = env.openbao.address;
    await admin.objects.create(vaultStore as never);

    const esoSubject = (secret: string): Subject => ({
      key: 'password',
      change: async (v) => void (await kv.setSecret(secret, v)),
    });
    const vsoSubject = (path: string): Subject => ({
      key: 'password',
      change: async (v) =>
        void (await bao.write(`${env.openbao.kvMount}/data/${path}`, { data: { password: v } })),
    });

    const realExternalSecret = async (name: string, path: string, interval: string) => {
      const es = fixture('externalsecret-data.yaml', name, ns);
      const spec = es.spec as {
        refreshInterval: string;
        secretStoreRef: { kind: string; name: string };
        target: { name: string };
        data: Array<{ remoteRef: { key: string; property?: string } }>;
      };
      spec.refreshInterval = interval;
      spec.secretStoreRef = { kind: 'SecretStore', name: 'vault-store' };
      spec.target.name = name;
      spec.data[0] = { ...(spec.data[0] as object), remoteRef: { key: path, property: 'password' } };
      await vsoSubject(path).change('initial');
      const synced = clock.when(name, has('password', 'initial'));
      await admin.objects.create(es as never);
      await synced;
    };
    const externalSecret = async (name: string, secret: string, interval: string) => {
      const es = fixture('externalsecret-data.yaml', name, ns);
      const spec = es.spec as {
        refreshInterval: string;
        target: { name: string };
        data: Array<{ remoteRef: { key: string } }>;
      };
      spec.refreshInterval = interval;
      spec.target.name = name;
      (spec.data[0] as { remoteRef: { key: string } }).remoteRef.key = secret;
      await esoSubject(secret).change('initial');
      const synced = clock.when(name, has('password', 'initial'));
      await admin.objects.create(es as never);
      await synced;
    };
    const staticSecret = async (name: string, path: string, refreshAfter: string) => {
      const vss = fixture('vaultstaticsecret.yaml', name, ns);
      Object.assign(vss.spec, {
        mount: env.openbao.kvMount,
        path,
        refreshAfter,
        destination: { name, create: true },
      });
      delete vss.spec.vaultAuthRef;
      await vsoSubject(path).change('initial');
      const synced = clock.when(name, has('password', 'initial'));
      await admin.objects.create(vss as never);
      await synced;
    };

    log('ESO (the real controller, OpenBao) forced');
    const esoPath = `bench/eso-${randomUUID().slice(0, 8)}`;
    await realExternalSecret('eso-forced', esoPath, '1h');
    const esoDerived = await resolveDerived(
      rotor,
      SecretRefSchema.parse({
        backend: 'vault',
        address: env.openbao.address,
        mount: env.openbao.kvMount,
        path: esoPath,
      }),
      resolveOpts,
    );
    const esoForced = await measureForced(rotor, clock, esoDerived, 'eso-forced', vsoSubject(esoPath));

    log('ESO stand-in (Key Vault) forced');
    const esoSecret = `bench-${randomUUID().slice(0, 8)}`;
    await externalSecret('standin-forced', esoSecret, '1h');
    const esoRef = SecretRefSchema.parse({
      backend: 'azure-keyvault',
      vault: env.lowkey.vaultName,
      name: esoSecret,
    });
    const resolveTimes: number[] = [];
    let standinDerived: DerivedObject[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      const t0 = performance.now();
      standinDerived = await resolveDerived(rotor, esoRef, resolveOpts);
      resolveTimes.push(performance.now() - t0);
    }
    const standinForced = await measureForced(
      rotor,
      clock,
      standinDerived,
      'standin-forced',
      esoSubject(esoSecret),
    );

    log('VSO forced');
    const vsoPath = `bench/${randomUUID().slice(0, 8)}`;
    const vsoFixture = fixture('vaultstaticsecret.yaml', 'x', ns);
    await staticSecret('vso-forced', vsoPath, vsoFixture.spec.refreshAfter as string);
    const vsoRef = SecretRefSchema.parse({
      backend: 'vault',
      address: env.openbao.address,
      mount: env.openbao.kvMount,
      path: vsoPath,
    });
    const vsoDerived = await resolveDerived(rotor, vsoRef, resolveOpts);
    const vsoForced = await measureForced(rotor, clock, vsoDerived, 'vso-forced', vsoSubject(vsoPath));

    log(
      `poll at ${POLL}: ${SAMPLES} ExternalSecrets and ${SAMPLES} VaultStaticSecrets, each changed at a random moment`,
    );
    const esoLanes = await Promise.all(
      Array.from({ length: SAMPLES }, async (_, i) => {
        const path = `bench/eso-poll-${i}-${randomUUID().slice(0, 6)}`;
        await realExternalSecret(`eso-poll-${i}`, path, POLL);
        return { target: `eso-poll-${i}`, subject: vsoSubject(path) };
      }),
    );
    const vsoLanes = await Promise.all(
      Array.from({ length: SAMPLES }, async (_, i) => {
        const path = `bench/poll-${i}-${randomUUID().slice(0, 6)}`;
        await staticSecret(`vso-poll-${i}`, path, POLL);
        return { target: `vso-poll-${i}`, subject: vsoSubject(path) };
      }),
    );
    const [esoPoll, vsoPoll] = await Promise.all([
      measurePoll(clock, esoLanes),
      measurePoll(clock, vsoLanes),
    ]);

    const results = {
      benchmark: 'refresh-latency',
      date: new Date().toISOString(),
      machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version },
      setup: `the real ESO controller ${env.eso.version} (Vault provider, OpenBao dev server); the ESO stand-in (Key Vault endpoint of the test env) and the VSO stand-in (test/standins); a real kube-apiserver; rotor as the restricted identity`,
      samples: SAMPLES,
      resolve: stats(resolveTimes),
      eso: {
        controller: `external-secrets ${env.eso.version}`,
        backend: 'openbao kv-v2',
        forced: esoForced,
        poll10s: esoPoll,
        poll10sModel: pollModel(POLL),
        defaultPoll: { ...pollModel('1h'), source: 'ESO refreshInterval default 1h0m0s' },
      },
      esoStandin: {
        controller: 'ESO stand-in (test/standins/eso-standin.ts)',
        backend: 'azure-keyvault',
        forced: standinForced,
      },
      vso: {
        backend: 'openbao kv-v2',
        forced: vsoForced,
        poll10s: vsoPoll,
        poll10sModel: pollModel(POLL),
        defaultPoll: {
          ...pollModel(vsoFixture.spec.refreshAfter as string),
          source:
            'VaultStaticSecret refreshAfter as configured in test/fixtures/operators/vaultstaticsecret.yaml',
        },
      },
    };
    // ROTOR_BENCH_RESULTS: where to write (the suite's smoke run writes to a temporary file,
    // never over the committed results).
    const out = process.env.ROTOR_BENCH_RESULTS
      ? new URL(`file://${path.resolve(process.env.ROTOR_BENCH_RESULTS)}`)
      : new URL('./results/refresh-latency.json', import.meta.url);
    await mkdir(new URL('./', out), { recursive: true });
    await writeFile(out, `${JSON.stringify(results, null, 2)}\n`);
    console.log(JSON.stringify(results, null, 2));
  } finally {
    clock.stop();
    await Promise.all([eso.stop(), vso.stop()]);
    await admin.core.deleteNamespace({ name: ns }).catch(() => {});
    await admin.core.deleteNamespace({ name: operatorNs }).catch(() => {});
    await stop();
  }
}

await main();
