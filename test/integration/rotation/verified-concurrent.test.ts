/**
 * Issue 16's known gap, on the real controllers (kube-controller-manager, kube-scheduler,
 * KWOK's crash stage), the Key Vault stand-in through the real SDK and the Verifications
 * table in Azurite: rotor's own write comes back as a change event, and that concurrent run
 * restarts the consumer before the run that rotated reaches it, which finds it
 * already-current. The verification follows that rollout anyway (read-only, the real
 * follower on the workload's current generation) and undoes the rotation when it fails.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackends } from '../../../lib/backends/registry.js';
import { systemClock } from '../../../lib/clock.js';
import { parseConfig } from '../../../lib/config.js';
import { envVarName, RELOADER } from '../../../lib/kube/restart/index.js';
import type { Outcome } from '../../../lib/outcome.js';
import { RotationEngine } from '../../../lib/rotation/engine.js';
import { VerifiedRotation } from '../../../lib/rotation/verified.js';
import { type KeyVaultRef, refKey } from '../../../lib/secret-ref.js';
import { TableVerificationStore } from '../../../lib/state/table-verifications.js';
import { Tables } from '../../../lib/state/tables.js';
import { keyVaultClientForTest, testEnv, uniqueName } from '../../env/index.js';
import { HEALTHY_HASH_ANNOTATION } from '../../env/kube-controllers.js';
import { testConfig } from '../backends/support.js';
import { container, podSpec, type RestartFixture, restartFixture } from '../restart/helpers.js';

const env = testEnv();
const kv = keyVaultClientForTest(env.lowkey);
const sha1 = (text: string) => createHash('sha1').update(text).digest('hex');
let f: RestartFixture;
let ns: string;

beforeAll(async () => {
  ({ f, ns } = await restartFixture('vconc'));
});
afterAll(async () => f.closeAll());

/**
 * A Deployment of 2 consuming Secret `secret` (password=good). `fragile`: KWOK's crash stage
 * keeps pods on any other data from getting Ready, so a rollout onto new data fails.
 */
async function consumer(name: string, secret: string, { fragile }: { fragile: boolean }): Promise<void> {
  await f.createSecret(ns, secret, { password: 'good' });
  const healthy = sha1('password=good');
  await f.admin.apps.createNamespacedDeployment({
    namespace: ns,
    body: {
      metadata: { name, annotations: { [RELOADER.auto]: 'true' } },
      spec: {
        replicas: 2,
        progressDeadlineSeconds: 4,
        selector: { matchLabels: { app: name } },
        template: {
          metadata: {
            labels: { app: name },
            annotations: fragile ? { [HEALTHY_HASH_ANNOTATION]: healthy } : {},
          },
          spec: podSpec([
            container('app', {
              envFrom: [{ secretRef: { name: secret } }],
              env: [{ name: envVarName('SECRET', secret), value: healthy }],
            }),
          ]),
        },
      },
    },
  });
}

/** One rotor instance's verified rotation: its follower is the real restart engine's. */
function rotor() {
  const config = testConfig(env);
  const backends = createBackends(config);
  const prefix = uniqueName('vc').replace(/[^a-z0-9]/g, '');
  const state = parseConfig({
    state: { connectionString: env.azurite.tableConnectionString, tablePrefix: prefix },
  }).state;
  // This instance's restart engine: the run that rotated restarts and follows through it.
  const restarts = f.engineFor();
  const errors: Array<Record<string, unknown>> = [];
  const verified = new VerifiedRotation({
    rotate: (ref, options) => new RotationEngine({ backends, config }).rotate(ref, options),
    backends,
    store: new TableVerificationStore(new Tables(state)),
    config,
    bounds: { rotationMs: 120_000, followMs: 60_000 },
    follow: (_cluster, w) => restarts.follow(w, 30_000),
    rerun: (_ref, _version, eventId) => `${eventId}-undo`,
    clock: systemClock,
    log: { info: () => undefined, warn: () => undefined, error: (_m, x) => errors.push(x ?? {}) },
  });
  return { verified, errors, restarts };
}

/**
 * Rotates `name`, then the operator syncs the new version into Secret `secret` and the
 * concurrent run restarts the consumers first; the run that rotated restarts after it.
 */
async function rotateWhileAnotherRunRestartsFirst(name: string, secret: string) {
  const ref: KeyVaultRef = { backend: 'azure-keyvault', vault: env.lowkey.vaultName, name };
  const seeded = await kv.setSecret(name, 'good', {
    tags: { 'rotor-generator': 'password', 'rotor-verify': 'rollout' },
  });
  const r = rotor();
  const rotated = await r.verified.rotate(ref, { reason: 'manual' });
  if (rotated.status !== 'rotated') throw new Error(`not rotated: ${JSON.stringify(rotated)}`);
  // The operator syncs the new version (its value is the test's: only the change matters here).
  await f.updateSecret(ns, secret, { password: 'new' });
  const concurrent = await f.engineFor().restart([f.change('Secret', ns, secret)]);
  const own = await r.restarts.restart([f.change('Secret', ns, secret)]);
  // What the pipeline hands the Runner's settle: the rotation, and its restart step's results.
  const outcome: Outcome = {
    eventId: uniqueName('ev'),
    ref: refKey(ref),
    kind: 'rotate-requested',
    source: 'manual',
    status: 'completed',
    rotation: { newVersion: rotated.newVersion },
    refreshes: [],
    workloads: own,
    clusterFailures: [],
    timeline: [],
    dryRun: false,
  };
  const settled = await r.verified.settle(outcome);
  const final = 'final' in settled ? await settled.final : settled;
  return { ...r, concurrent, own, final, before: seeded.properties.version, rotated: rotated.newVersion };
}

describe('verified rotation when a concurrent run restarted the consumers first', () => {
  it('follows the rollout the other run started and undoes the rotation when it fails', async () => {
    await consumer('fragile', 'fragile', { fragile: true });
    const name = uniqueName('vc-kv');

    const run = await rotateWhileAnotherRunRestartsFirst(name, 'fragile');

    expect(run.concurrent.map((w) => w.status)).toEqual(['restarted']);
    expect(run.own.map((w) => w.status)).toEqual(['already-current']);
    expect(run.final.workloads).toEqual([
      expect.objectContaining({
        status: 'already-current',
        name: 'fragile',
        rollout: expect.objectContaining({ status: 'rollout-failed', reason: 'ProgressDeadlineExceeded' }),
      }),
    ]);
    const current = await kv.getSecret(name);
    expect(run.final.undo).toEqual({
      status: 'restored',
      failed: [`${f.cluster.name}/Deployment/${ns}/fragile`],
      previousVersion: run.before,
      restoredVersion: current.properties.version,
      rerun: `${run.final.eventId}-undo`,
    });
    expect(current.value).toBe('good');
    expect(run.errors).toEqual([expect.objectContaining({ undo: 'restored' })]);
  });

  it('settles the rotation without writing when that rollout is healthy', async () => {
    await consumer('sturdy', 'sturdy', { fragile: false });
    const name = uniqueName('vc-kv');

    const run = await rotateWhileAnotherRunRestartsFirst(name, 'sturdy');

    expect(run.own.map((w) => w.status)).toEqual(['already-current']);
    expect(run.final.workloads).toEqual([
      expect.objectContaining({
        status: 'already-current',
        rollout: expect.objectContaining({ status: 'rolled-out' }),
      }),
    ]);
    expect(run.final.undo).toBeUndefined();
    expect((await kv.getSecret(name)).properties.version).toBe(run.rotated);
    // Settled: the secret may rotate again.
    expect(
      (
        await run.verified.rotate(
          { backend: 'azure-keyvault', vault: env.lowkey.vaultName, name },
          { reason: 'manual' },
        )
      ).status,
    ).toBe('rotated');
  });
});
