/**
 * Event Grid does not keep order, and a redelivery may arrive after a newer change: rotor
 * acts on the backend's current state, the event only says that something changed. Here
 * through the real host, the Key Vault endpoint and a SecretProviderClass consumer in both
 * clusters.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { envVarName } from '../../../lib/kube/restart/index.js';
import { keyVaultClientForTest, kubeClient, testEnv, uniqueName } from '../../env/index.js';
import { type SampleApp, seedAndDeploy } from '../../sandbox/sample-app.js';
import { type Sandbox, startSandbox } from '../../sandbox/sandbox.js';
import { keyVaultEvent, postEventGrid } from '../../sandbox/scenarios.js';

const env = testEnv();
let sandbox: Sandbox;
let app: SampleApp;
const value = () => `v-${randomBytes(12).toString('hex')}`;

async function web(cluster: number) {
  const d = await kubeClient(env.clusters[cluster]!, 'admin').apps.readNamespacedDeployment({
    namespace: app.namespace,
    name: 'web',
  });
  const spcHash = d.spec?.template.spec?.containers[0]?.env?.find(
    (e) => e.name === envVarName('SECRETPROVIDERCLASS', 'tls'),
  )?.value;
  return { generation: d.metadata?.generation ?? 0, spcHash };
}

/** Delivers a SecretNewVersionCreated naming `version` of the CSI secret and returns its outcome. */
async function deliver(version: string) {
  const event = keyVaultEvent(env.lowkey.vaultName, app.csiSecret, version);
  const from = sandbox.outcomes.length;
  await postEventGrid(sandbox, [event]);
  return sandbox.waitForOutcome((o) => o.eventId === event.id, { from });
}

beforeAll(async () => {
  const id = uniqueName('order');
  app = {
    namespace: id,
    kvSecret: `${id}-db`,
    // Its own Key Vault secret: only the SecretProviderClass derives from it.
    csiSecret: `${id}-tls`,
    vaultMount: env.openbao.kvMount,
    vaultPath: `apps/${id}`,
    vsoRefreshAfter: '1h',
  };
  // The stand-ins in a process of their own, as the benchmarks run them (the other e2e
  // files keep them in process): the same behaviour is expected from either layout.
  sandbox = await startSandbox(env, { namespaces: [id], standinsProcess: true });
  await seedAndDeploy(sandbox, app, { kv: value(), csi: value(), vault: value() });
});

afterAll(async () => {
  await sandbox?.stop();
});

describe('old events never move a workload backwards', () => {
  it('v2 then v1 of one secret: one rollout, and the hash of v2 stays', async () => {
    const kv = keyVaultClientForTest(env.lowkey);
    const v1 = (await kv.setSecret(app.csiSecret, value())).properties.version ?? '';
    const v2 = (await kv.setSecret(app.csiSecret, value())).properties.version ?? '';
    const before = await Promise.all([web(0), web(1)]);

    const newer = await deliver(v2);
    const afterNewer = await Promise.all([web(0), web(1)]);
    const older = await deliver(v1);
    const afterOlder = await Promise.all([web(0), web(1)]);
    const again = await deliver(v2);
    const afterAgain = await Promise.all([web(0), web(1)]);

    expect(newer.workloads.filter((w) => w.status === 'restarted')).toHaveLength(2);
    for (const c of [0, 1]) {
      expect(afterNewer[c]!.generation).toBe(before[c]!.generation + 1);
      expect(afterNewer[c]!.spcHash).toMatch(/^[0-9a-f]{40}$/);
      // The older event (and a repeat of the newer one, under a new event id) change nothing.
      expect(afterOlder[c]).toEqual(afterNewer[c]);
      expect(afterAgain[c]).toEqual(afterNewer[c]);
    }
    for (const outcome of [older, again]) {
      expect(outcome.status, JSON.stringify(outcome)).toBe('completed');
      expect(outcome.workloads.map((w) => w.status)).toEqual(['already-current', 'already-current']);
    }
  });
});
