/**
 * The whole product on the real servers: a change in a backend reaches the restart patch
 * through rotor's own routes (Event Grid webhook, OpenBao audit device, /api/rotate), with
 * the ESO / VSO stand-ins as the operators, in both clusters, as the restricted identity.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CoreV1Event } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterClient } from '../../../lib/kube/cluster.js';
import { envVarName, reloaderHash } from '../../../lib/kube/restart/index.js';
import type { Outcome } from '../../../lib/outcome.js';
import { keyVaultClientForTest, kubeClient, testEnv, uniqueName } from '../../env/index.js';
import { type SampleApp, seedAndDeploy } from '../../sandbox/sample-app.js';
import { type Sandbox, startSandbox } from '../../sandbox/sandbox.js';
import {
  addRotationPolicy,
  enableKvMount,
  keyVaultEvent,
  keyVaultUpdate,
  openBaoWrite,
  policyRotation,
  postEventGrid,
} from '../../sandbox/scenarios.js';

const env = testEnv();
const values: string[] = [];
const secretValue = () => {
  const v = `sv-${randomBytes(16).toString('hex')}`;
  values.push(v);
  return v;
};
const notifications: string[] = [];
let notifier: Server;
let sandbox: Sandbox;
let app: SampleApp;

async function templateEnv(cluster: number, name: string): Promise<string | undefined> {
  const d = await kubeClient(env.clusters[cluster]!, 'admin').apps.readNamespacedDeployment({
    namespace: app.namespace,
    name: 'web',
  });
  return d.spec?.template.spec?.containers[0]?.env?.find((e) => e.name === name)?.value;
}

async function secretHash(cluster: number, name: string): Promise<string> {
  const s = await kubeClient(env.clusters[cluster]!, 'admin').core.readNamespacedSecret({
    namespace: app.namespace,
    name,
  });
  return reloaderHash({ kind: 'Secret', data: s.data ?? {} });
}

async function generation(cluster: number): Promise<number> {
  const d = await kubeClient(env.clusters[cluster]!, 'admin').apps.readNamespacedDeployment({
    namespace: app.namespace,
    name: 'web',
  });
  return d.metadata?.generation ?? 0;
}

/**
 * rotor's Events about one object of the sample namespace in cluster alpha for one run, as
 * `kubectl describe` selects them (with the object's uid); waits until every expected reason
 * is there (Events are written off the critical path, RolledOut after the rollout).
 */
async function rotorEvents(
  admin: ClusterClient,
  kind: string,
  name: string,
  eventId: string,
  reasons: string[],
): Promise<CoreV1Event[]> {
  const obj = (await admin.objects.read({
    apiVersion: kind === 'Deployment' ? 'apps/v1' : 'external-secrets.io/v1',
    kind,
    metadata: { name, namespace: app.namespace },
  })) as { metadata?: { uid?: string } };
  const selector = [
    `involvedObject.name=${name}`,
    `involvedObject.namespace=${app.namespace}`,
    `involvedObject.kind=${kind}`,
    `involvedObject.uid=${obj.metadata?.uid}`,
  ].join(',');
  const deadline = Date.now() + 30_000;
  for (;;) {
    const list = await admin.core.listNamespacedEvent({ namespace: app.namespace, fieldSelector: selector });
    const ours = list.items.filter((e) => e.reportingComponent === 'rotor' && e.message?.includes(eventId));
    if (reasons.every((r) => ours.some((e) => e.reason === r)) || Date.now() > deadline) return ours;
    await new Promise((r) => setTimeout(r, 200));
  }
}

function restartedIn(outcome: Outcome): string[] {
  return outcome.workloads
    .filter((w) => w.status === 'restarted')
    .map((w) => w.cluster)
    .sort();
}

beforeAll(async () => {
  notifier = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => {
      body += c.toString();
    });
    req.on('end', () => {
      notifications.push(body);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => notifier.listen(0, '127.0.0.1', r));
  const port = (notifier.address() as AddressInfo).port;
  const id = uniqueName('e2e');
  app = {
    namespace: id,
    kvSecret: `${id}-db`,
    csiSecret: `${id}-db`,
    vaultMount: id.replace(/-/g, ''),
    vaultPath: 'web/api',
    vsoRefreshAfter: '1h',
  };
  await enableKvMount({ env }, app.vaultMount);
  sandbox = await startSandbox(env, {
    namespaces: [app.namespace],
    kvMount: app.vaultMount,
    config: { notifications: [{ kind: 'webhook', url: `http://127.0.0.1:${port}/hook` }], logLevel: 'debug' },
  });
  await seedAndDeploy(sandbox, app, { kv: secretValue(), vault: secretValue() });
});

afterAll(async () => {
  await sandbox?.stop();
  await new Promise((r) => notifier?.close(r));
});

describe('rotor end to end on real servers', () => {
  it('a Key Vault change delivered by Event Grid refreshes the ExternalSecret and restarts the consumer in every cluster', async () => {
    const run = await keyVaultUpdate(sandbox, app, secretValue());

    expect(run.outcome.status, JSON.stringify(run.outcome)).toBe('completed');
    expect(
      run.outcome.refreshes.filter((r) => r.kind === 'ExternalSecret' && r.status === 'refreshed'),
    ).toHaveLength(2);
    expect(restartedIn(run.outcome)).toEqual(['alpha', 'beta']);
    // Followed to the end: every new pod Ready on the new template, as the demo prints it.
    expect(
      run.final.workloads.map((w) => (w.status === 'restarted' ? `${w.cluster}:${w.rollout?.status}` : '')),
    ).toEqual(['alpha:rolled-out', 'beta:rolled-out']);
    for (const c of [0, 1]) {
      // The template carries Reloader's variable with Reloader's hash of the new Secret data.
      expect(await templateEnv(c, envVarName('SECRET', 'db-credentials'))).toBe(
        await secretHash(c, 'db-credentials'),
      );
    }
  });

  it('tells kubectl describe what it did: Events on the ExternalSecret and the Deployment, with the secret, its version and the event id', async () => {
    const run = await keyVaultUpdate(sandbox, app, secretValue());
    const { version } = (await keyVaultClientForTest(env.lowkey).getSecret(app.kvSecret)).properties;
    const admin = kubeClient(env.clusters[0]!, 'admin');

    // Found the way kubectl describe finds them: involvedObject name, namespace, kind and uid.
    const es = await rotorEvents(admin, 'ExternalSecret', 'db-credentials', run.outcome.eventId, [
      'Refreshed',
    ]);
    const web = await rotorEvents(admin, 'Deployment', 'web', run.outcome.eventId, [
      'Restarted',
      'RolledOut',
    ]);

    expect(es.map((e) => `${e.type}/${e.reason}`)).toEqual(['Normal/Refreshed']);
    expect(es[0]?.involvedObject).toMatchObject({
      apiVersion: 'external-secrets.io/v1',
      namespace: app.namespace,
    });
    expect(es[0]?.message).toContain(
      `${run.outcome.ref} version ${version} (rotor event ${run.outcome.eventId})`,
    );
    expect(es[0]?.message).toContain('Secret db-credentials has new data');
    expect(web.map((e) => `${e.type}/${e.reason}`).sort()).toEqual(['Normal/Restarted', 'Normal/RolledOut']);
    expect(web.find((e) => e.reason === 'RolledOut')?.message).toMatch(
      /^rolled out in \d+\.\d s after rotor's restart for /,
    );
    for (const e of [...es, ...web]) {
      expect(e.involvedObject.uid).toMatch(/^[0-9a-f-]{36}$/);
      expect(e.source?.component).toBe('rotor');
    }
  });

  it('the same key vault secret mounted by CSI restarts through the SecretProviderClass in the same rollout', async () => {
    const run = await keyVaultUpdate(sandbox, app, secretValue());

    expect(run.outcome.refreshes.some((r) => r.operator === 'csi' && r.status === 'restart-only')).toBe(true);
    // One patch per workload and cluster carries both the ESO Secret and the CSI class.
    expect(run.outcome.workloads.filter((w) => w.status === 'restarted')).toHaveLength(2);
    expect(await templateEnv(0, envVarName('SECRETPROVIDERCLASS', 'tls'))).toMatch(/^[0-9a-f]{40}$/);
  });

  it('an OpenBao write seen through the audit device refreshes the VaultStaticSecret and restarts the consumer', async () => {
    const run = await openBaoWrite(sandbox, app, secretValue());

    expect(run.outcome.status).toBe('completed');
    expect(
      run.outcome.refreshes.filter((r) => r.kind === 'VaultStaticSecret' && r.status === 'refreshed'),
    ).toHaveLength(2);
    expect(restartedIn(run.outcome)).toEqual(['alpha', 'beta']);
    expect(await templateEnv(1, envVarName('SECRET', 'api-key'))).toBe(await secretHash(1, 'api-key'));
  });

  it('POST /api/refresh {"dryRun":true} reports the consumers of the VaultStaticSecret it would restart, and writes nothing', async () => {
    const before = [await generation(0), await generation(1)];

    const res = await fetch(`${sandbox.host.url}/api/refresh`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-functions-key': sandbox.host.key },
      body: JSON.stringify({ vault: 'openbao', mount: app.vaultMount, path: app.vaultPath, dryRun: true }),
    });
    const outcome = (await res.json()) as Outcome;

    expect(res.status).toBe(200);
    expect(outcome.dryRun).toBe(true);
    expect(
      outcome.refreshes.filter((r) => r.kind === 'VaultStaticSecret' && r.status === 'dry-run'),
    ).toHaveLength(2);
    // The dry run used to hand only CSI classes to the restart engine: no VSO/ESO workload at all.
    expect(outcome.workloads.map((w) => `${w.cluster}/${w.kind}/${w.name}`).sort()).toEqual([
      'alpha/Deployment/web',
      'beta/Deployment/web',
    ]);
    expect([await generation(0), await generation(1)]).toEqual(before);
  });

  it('a redelivered Event Grid event is answered without a second rollout', async () => {
    const kv = keyVaultClientForTest(env.lowkey);
    const version = (await kv.setSecret(app.kvSecret, secretValue())).properties.version ?? '';
    const event = keyVaultEvent(env.lowkey.vaultName, app.kvSecret, version);
    await postEventGrid(sandbox, [event]);
    const first = await sandbox.waitForOutcome((o) => o.eventId === event.id);
    const before = await generation(0);

    const from = sandbox.outcomes.length;
    await postEventGrid(sandbox, [event]);
    const second = await sandbox.waitForOutcome((o) => o.eventId === event.id, { from });

    expect(first.status).toBe('completed');
    expect(second.status).toBe('duplicate');
    expect(await generation(0)).toBe(before);
  });

  it('a SecretNearExpiry event for a secret with a policy rotates it, then refreshes and restarts (Key Vault)', async () => {
    const kv = keyVaultClientForTest(env.lowkey);
    await addRotationPolicy(sandbox, app, secretValue());
    const before = (await kv.getSecret(app.kvSecret)).properties.version;

    const run = await policyRotation(sandbox, app);

    const after = await kv.getSecret(app.kvSecret);
    expect(run.outcome.rotation).toEqual({ newVersion: after.properties.version });
    expect(after.properties.version).not.toBe(before);
    expect(after.properties.tags?.['rotor-generator']).toBe('password');
    expect(after.properties.expiresOn!.getTime()).toBeGreaterThan(Date.now() + 29 * 86_400_000);
    expect(restartedIn(run.outcome)).toEqual(['alpha', 'beta']);
    values.push(after.value ?? '');
  });

  it('POST /api/rotate rotates an OpenBao secret by its custom_metadata policy, then refreshes and restarts', async () => {
    await fetch(`${env.openbao.address}/v1/${app.vaultMount}/metadata/${app.vaultPath}`, {
      method: 'POST',
      headers: { 'X-Vault-Token': env.openbao.rootToken },
      body: JSON.stringify({
        custom_metadata: { 'rotor-generator': 'password', 'rotor-generator-options': '{"field":"API_KEY"}' },
      }),
    });

    const res = await fetch(`${sandbox.host.url}/api/rotate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-functions-key': sandbox.host.key },
      body: JSON.stringify({ vault: 'openbao', mount: app.vaultMount, path: app.vaultPath }),
    });
    const outcome = (await res.json()) as Outcome;

    expect(res.status).toBe(200);
    expect(outcome.rotation).toHaveProperty('newVersion');
    expect(
      outcome.refreshes.filter((r) => r.kind === 'VaultStaticSecret' && r.status === 'refreshed'),
    ).toHaveLength(2);
    // rotor's own write reaches it again through the audit device (a `changed` event, which
    // refreshes and restarts but never rotates). That run and this one race for the same
    // rollout: a workload the other run restarted first is `already-current` here, never
    // restarted twice. Either way both clusters end on the hash of the new data.
    expect(
      outcome.workloads
        .filter((w) => w.status === 'restarted' || w.status === 'already-current')
        .map((w) => w.cluster)
        .sort(),
    ).toEqual(['alpha', 'beta']);
    for (const cluster of [0, 1]) {
      expect(await templateEnv(cluster, envVarName('SECRET', 'api-key'))).toBe(
        await secretHash(cluster, 'api-key'),
      );
    }
    const read = await fetch(`${env.openbao.address}/v1/${app.vaultMount}/data/${app.vaultPath}`, {
      headers: { 'X-Vault-Token': env.openbao.rootToken },
    });
    values.push(((await read.json()) as { data: { data: { API_KEY: string } } }).data.data.API_KEY);
  });

  it('no secret value reaches logs, traces, metrics or notifications', async () => {
    await sandbox.telemetry.flush();
    const spans = sandbox.telemetry.memory!.spans.getFinishedSpans();
    await sandbox.telemetry.memory!.reader.forceFlush();
    const metrics = sandbox.telemetry.memory!.metrics.getMetrics();
    const outputs = {
      logs: sandbox.logLines.join('\n'),
      traces: JSON.stringify(
        spans.map((s) => ({ name: s.name, attributes: s.attributes, events: s.events, status: s.status })),
      ),
      metrics: JSON.stringify(metrics),
      notifications: notifications.join('\n'),
      outcomes: JSON.stringify(sandbox.outcomes),
      kubernetesEvents: JSON.stringify(
        (
          await kubeClient(env.clusters[0]!, 'admin').core.listNamespacedEvent({ namespace: app.namespace })
        ).items.filter((e) => e.reportingComponent === 'rotor'),
      ),
    };

    // The check must be able to fail: every channel saw this run's activity.
    expect(spans.length).toBeGreaterThan(0);
    expect(outputs.logs).toContain(app.kvSecret);
    expect(outputs.metrics).toContain('rotor.restarts');
    expect(outputs.kubernetesEvents).toContain('Refreshed');
    // Every Key Vault / OpenBao call is counted (the observer used to be wired to nothing).
    expect(outputs.metrics).toContain('rotor.backend.calls');
    expect(notifications.length).toBeGreaterThan(0);
    expect(values.length).toBeGreaterThanOrEqual(8);
    for (const [channel, text] of Object.entries(outputs)) {
      for (const value of values.filter(Boolean)) {
        expect(text.includes(value), `${channel} contains a secret value`).toBe(false);
        expect(
          text.includes(Buffer.from(value).toString('base64')),
          `${channel} contains a base64 secret value`,
        ).toBe(false);
      }
    }
  });
});
