/**
 * Faults mid-run: the API server, OpenBao or the Key Vault endpoint becomes unreachable
 * (a TCP proxy in front of the real server is taken down, so other tests keep their
 * servers). rotor must answer with a retryable status, record nothing as done, and complete
 * when the sender retries after recovery.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EnvDescriptor } from '../../env/descriptor.js';
import { keyVaultClientForTest, kubeClient, testEnv, uniqueName } from '../../env/index.js';
import { deploySampleApp, type SampleApp } from '../../sandbox/sample-app.js';
import { type Sandbox, startSandbox } from '../../sandbox/sandbox.js';
import { enableKvMount, keyVaultEvent, writeOpenBao } from '../../sandbox/scenarios.js';
import { waitForInitialSync } from '../../sandbox/sync.js';
import { startTcpProxy, type TcpProxy } from '../../sandbox/tcp-proxy.js';

const real = testEnv();
const random = () => randomBytes(12).toString('hex');
let kube: TcpProxy;
let bao: TcpProxy;
let kv: TcpProxy;
let env: EnvDescriptor;
let sandbox: Sandbox;
let app: SampleApp;

function behind(url: string, proxy: TcpProxy): string {
  const u = new URL(url);
  return `${u.protocol}//127.0.0.1:${proxy.port}`;
}

async function post(path: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${sandbox.host.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-functions-key': sandbox.host.key, ...headers },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function generation(): Promise<number> {
  const d = await kubeClient(real.clusters[0]!, 'admin').apps.readNamespacedDeployment({
    namespace: app.namespace,
    name: 'web',
  });
  return d.metadata?.generation ?? 0;
}

beforeAll(async () => {
  const cluster = real.clusters[0]!;
  const port = (url: string) => Number(new URL(url).port);
  kube = await startTcpProxy({ host: '127.0.0.1', port: port(cluster.server) });
  bao = await startTcpProxy({ host: '127.0.0.1', port: port(real.openbao.address) });
  kv = await startTcpProxy({ host: '127.0.0.1', port: port(real.lowkey.vaultUrl) });
  env = {
    ...real,
    clusters: [
      {
        ...cluster,
        rotorKubeconfig: cluster.rotorKubeconfig.replace(cluster.server, behind(cluster.server, kube)),
      },
    ],
    openbao: { ...real.openbao, address: behind(real.openbao.address, bao) },
    lowkey: { ...real.lowkey, vaultUrl: behind(real.lowkey.vaultUrl, kv) },
  };
  const id = uniqueName('faults');
  app = {
    namespace: id,
    kvSecret: `${id}-db`,
    csiSecret: `${id}-db`,
    vaultMount: id.replace(/-/g, ''),
    vaultPath: 'web/api',
    vsoRefreshAfter: '1h',
  };
  await enableKvMount({ env: real }, app.vaultMount);
  // Written before rotor's host registers for OpenBao's audit entries: written after, it
  // reaches rotor as a change whose run restarts `web` (adding the hash of the Secret VSO
  // synced), and the audit relay's queue, long in a busy suite, may deliver it at any
  // moment of the first test, which counts web's rollouts.
  await writeOpenBao(real, app.vaultMount, app.vaultPath, { API_KEY: random() });
  sandbox = await startSandbox(env, { namespaces: [app.namespace], kvMount: app.vaultMount });
  await keyVaultClientForTest(real.lowkey).setSecret(app.kvSecret, random());
  await deploySampleApp(kubeClient(cluster, 'admin'), env, app);
  await waitForInitialSync(sandbox, app);
});

afterAll(async () => {
  await sandbox?.stop();
  await Promise.all([kube?.close(), bao?.close(), kv?.close()]);
});

describe('faults mid-run', () => {
  it('API server unreachable: 503, nothing recorded as done, the retry after recovery restarts the workload', async () => {
    const version =
      (await keyVaultClientForTest(real.lowkey).setSecret(app.kvSecret, random())).properties.version ?? '';
    const event = keyVaultEvent(real.lowkey.vaultName, app.kvSecret, version);
    const webhook = '/runtime/webhooks/eventgrid?functionName=keyVaultEvents';
    const headers = { 'aeg-event-type': 'Notification' };
    const before = await generation();

    await kube.down();
    const failed = await post(webhook, [event], headers);
    await kube.up();
    const retried = await post(webhook, [event], headers);

    expect(failed.status).toBe(503);
    expect(retried.status).toBe(200);
    const results = retried.body.results as Array<{ status: string; outcome: { status: string } }>;
    expect(results[0]?.outcome.status, JSON.stringify(results[0])).toBe('completed');
    expect(await generation()).toBe(before + 1);
  });

  it('OpenBao unreachable during a rotation: 503, and the retry rotates exactly once', async () => {
    await fetch(`${real.openbao.address}/v1/${app.vaultMount}/metadata/${app.vaultPath}`, {
      method: 'POST',
      headers: { 'X-Vault-Token': real.openbao.rootToken },
      body: JSON.stringify({
        custom_metadata: { 'rotor-generator': 'password', 'rotor-generator-options': '{"field":"API_KEY"}' },
      }),
    });
    const currentVersion = async () => {
      const res = await fetch(`${real.openbao.address}/v1/${app.vaultMount}/metadata/${app.vaultPath}`, {
        headers: { 'X-Vault-Token': real.openbao.rootToken },
      });
      return ((await res.json()) as { data: { current_version: number } }).data.current_version;
    };
    const before = await currentVersion();
    const body = {
      vault: 'openbao',
      mount: app.vaultMount,
      path: app.vaultPath,
      requestId: `rotate-${random()}`,
    };

    await bao.down();
    const failed = await post('/api/rotate', body);
    await bao.up();
    const retried = await post('/api/rotate', body);

    expect(failed.status).toBe(503);
    expect(retried.status).toBe(200);
    expect(retried.body.rotation).toHaveProperty('newVersion', String(before + 1));
    expect(await currentVersion()).toBe(before + 1);
  });

  it('Key Vault unreachable during a rotation: 503, and the retry rotates exactly once', async () => {
    const client = keyVaultClientForTest(real.lowkey);
    // Key Vault tags belong to a version: the policy is on the version rotor will read.
    await client.setSecret(app.kvSecret, random(), { tags: { 'rotor-generator': 'password' } });
    const versions = async () => {
      let n = 0;
      for await (const _ of client.listPropertiesOfSecretVersions(app.kvSecret)) n++;
      return n;
    };
    const before = await versions();
    const body = { keyVault: real.lowkey.vaultName, name: app.kvSecret, requestId: `rotate-${random()}` };

    await kv.down();
    const failed = await post('/api/rotate', body);
    await kv.up();
    const retried = await post('/api/rotate', body);

    expect(failed.status).toBe(503);
    expect(retried.status).toBe(200);
    expect(retried.body.rotation, JSON.stringify(retried.body)).toHaveProperty('newVersion');
    expect(await versions()).toBe(before + 1);
  });
});
