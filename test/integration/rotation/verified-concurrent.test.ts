/**
 * Issue 16's known gap, on the real controllers (kube-controller-manager, kube-scheduler,
 * KWOK's crash stage), the Key Vault stand-in through the real SDK and the Verifications
 * table in Azurite: rotor's own write comes back as a change event, and that concurrent run
 * restarts the consumer before the run that rotated reaches it, which finds it
 * already-current. The verification follows that rollout anyway (read-only, the real
 * follower on the workload's current generation) and undoes the rotation when it fails.
 *
 * And the runs after a rotation whose new version did not reach every consumer: two retries
 * on two instances sharing the table, of which one finishes the rollout (refresh and restart
 * on the new version, never a second rotation) and settles the row or undoes it once.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackends } from '../../../lib/backends/registry.js';
import type { ChangeEvent } from '../../../lib/change-event.js';
import { systemClock } from '../../../lib/clock.js';
import { parseConfig } from '../../../lib/config.js';
import { runDueScan } from '../../../lib/due-scan.js';
import { envVarName, RELOADER } from '../../../lib/kube/restart/index.js';
import type { ClusterFailure, Outcome, WorkloadResult } from '../../../lib/outcome.js';
import { RotationEngine } from '../../../lib/rotation/engine.js';
import { VerifiedRotation } from '../../../lib/rotation/verified.js';
import { type KeyVaultRef, refKey } from '../../../lib/secret-ref.js';
import { TableVerificationStore } from '../../../lib/state/table-verifications.js';
import { Tables } from '../../../lib/state/tables.js';
import { createLogger } from '../../../lib/telemetry.js';
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

/** One rotor instance's verified rotation: its follower is the real restart engine's; instances given one `prefix` share a table. */
function rotor(prefix = uniqueName('vc').replace(/[^a-z0-9]/g, '')) {
  const config = testConfig(env);
  const backends = createBackends(config);
  const state = parseConfig({
    state: { connectionString: env.azurite.tableConnectionString, tablePrefix: prefix },
  }).state;
  // This instance's restart engine: the run that rotated restarts and follows through it.
  const restarts = f.engineFor();
  const errors: Array<Record<string, unknown>> = [];
  const store = new TableVerificationStore(new Tables(state));
  const verified = new VerifiedRotation({
    rotate: (ref, options) => new RotationEngine({ backends, config }).rotate(ref, options),
    backends,
    store,
    config,
    bounds: { rotationMs: 120_000, followMs: 60_000 },
    follow: (_cluster, w) => restarts.follow(w, 30_000),
    rerun: (_ref, _version, eventId) => `${eventId}-undo`,
    clock: systemClock,
    log: { info: () => undefined, warn: () => undefined, error: (_m, x) => errors.push(x ?? {}) },
  });
  return { verified, errors, restarts, store };
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
  const final = await settled(r.verified, outcomeOf(ref, { newVersion: rotated.newVersion }, own));
  return { ...r, concurrent, own, final, before: seeded.properties.version, rotated: rotated.newVersion };
}

/** What the pipeline hands the Runner's settle: the rotation (or the rollout it finishes), and its restart step's results. */
function outcomeOf(
  ref: KeyVaultRef,
  rotation: Outcome['rotation'],
  workloads: WorkloadResult[],
  clusterFailures: ClusterFailure[] = [],
): Outcome {
  return {
    eventId: uniqueName('ev'),
    ref: refKey(ref),
    kind: 'rotate-requested',
    source: 'manual',
    status: clusterFailures.length > 0 ? 'partial' : 'completed',
    ...(rotation ? { rotation } : {}),
    refreshes: [],
    workloads,
    clusterFailures,
    timeline: [],
    dryRun: false,
  };
}

/** What the Runner records in the end: settle's outcome, or the final one after the answer. */
async function settled(verified: VerifiedRotation, outcome: Outcome): Promise<Outcome> {
  const s = await verified.settle(outcome);
  return 'final' in s ? s.final : s;
}

/** The run's restart step, its restarts followed to their end as the pipeline does. */
async function restartAndFollow(r: ReturnType<typeof rotor>, secrets: string[]): Promise<WorkloadResult[]> {
  const results = await r.restarts.restart(secrets.map((name) => f.change('Secret', ns, name)));
  return Promise.all(
    results.map(async (w) =>
      w.status === 'restarted' ? { ...w, rollout: await r.restarts.follow(w, 30_000) } : w,
    ),
  );
}

/**
 * Rotates a new secret on instance `first` (table `prefix`): its run syncs and restarts
 * `reached` (rolled out), but its part for the other consumer failed (its cluster did not
 * answer: an outcome's cluster failure), so the row is failed.
 */
async function halfRolledOut(reached: string) {
  const name = uniqueName('vf-kv');
  const ref: KeyVaultRef = { backend: 'azure-keyvault', vault: env.lowkey.vaultName, name };
  const seeded = await kv.setSecret(name, 'good', {
    tags: { 'rotor-generator': 'password', 'rotor-verify': 'rollout' },
  });
  const prefix = uniqueName('vf').replace(/[^a-z0-9]/g, '');
  const first = rotor(prefix);
  const rotated = await first.verified.rotate(ref, { reason: 'manual' });
  if (rotated.status !== 'rotated') throw new Error(`not rotated: ${JSON.stringify(rotated)}`);
  await f.updateSecret(ns, reached, { password: 'new' });
  const down = {
    cluster: 'beta',
    error: { code: 'unreachable', message: 'beta unreachable', retryable: true },
  };
  const firstRun = outcomeOf(
    ref,
    { newVersion: rotated.newVersion },
    await restartAndFollow(first, [reached]),
    [down],
  );
  await settled(first.verified, firstRun);
  return { ref, name, prefix, first, before: seeded.properties.version, rotated: rotated.newVersion };
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
        // rotor did not see the other run's rollout start: its time is how long it was followed.
        rollout: expect.objectContaining({
          status: 'rollout-failed',
          reason: 'ProgressDeadlineExceeded',
          since: 'followed',
        }),
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
        rollout: expect.objectContaining({ status: 'rolled-out', since: 'followed' }),
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

describe('a CronJob the concurrent run restarted first', () => {
  it('is followed through the Job that run created (named after the same hashes) to its completion', async () => {
    await f.createSecret(ns, 'nightly', { password: 'good' });
    await f.admin.batch.createNamespacedCronJob({
      namespace: ns,
      body: {
        metadata: { name: 'nightly', annotations: { [RELOADER.auto]: 'true' } },
        spec: {
          schedule: '0 3 * * *',
          jobTemplate: {
            spec: {
              template: {
                spec: {
                  ...podSpec([container('c', { envFrom: [{ secretRef: { name: 'nightly' } }] })]),
                  restartPolicy: 'Never',
                },
              },
            },
          },
        },
      },
    });
    const name = uniqueName('vc-kv');

    const run = await rotateWhileAnotherRunRestartsFirst(name, 'nightly');

    const job = run.concurrent[0]?.status === 'restarted' ? run.concurrent[0].job : undefined;
    expect(job).toMatch(/^nightly-/);
    // (The Job itself consumes the Secret too; not opted in, it is skipped.)
    const cronJobs = (o: WorkloadResult[]) => o.filter((w) => w.kind === 'CronJob');
    expect(cronJobs(run.own)).toEqual([expect.objectContaining({ status: 'already-current', job })]);
    expect(cronJobs(run.final.workloads)).toEqual([
      expect.objectContaining({
        status: 'already-current',
        rollout: expect.objectContaining({ status: 'rolled-out', since: 'followed' }),
      }),
    ]);
    expect(
      (await f.admin.batch.readNamespacedJob({ namespace: ns, name: job ?? '' })).status?.succeeded,
    ).toBe(1);
    expect(run.final.undo).toBeUndefined();
    expect((await kv.getSecret(name)).properties.version).toBe(run.rotated);
  });
});

describe('a retry after a rotation whose new version did not reach every consumer', () => {
  /** halfRolledOut, then two retries on two more instances at once. */
  async function halfRolledOutThenTwoRetries(reached: string) {
    const { ref, name, prefix, first, before, rotated } = await halfRolledOut(reached);
    const [a, b] = [rotor(prefix), rotor(prefix)];
    const answers = await Promise.all([
      a.verified.rotate(ref, { reason: 'manual' }),
      b.verified.rotate(ref, { reason: 'manual' }),
    ]);
    const finisher = answers[0]?.status === 'finishing' ? a : b;
    const waiter = finisher === a ? b : a;
    return { ref, name, first, answers, finisher, waiter, before, rotated };
  }

  /** The finishing run: the operator syncs the new version into `missed`; restart on both Secrets, followed. */
  async function finishingRun(
    run: Awaited<ReturnType<typeof halfRolledOutThenTwoRetries>>,
    secrets: string[],
    missed: string,
  ) {
    await f.updateSecret(ns, missed, { password: 'new' });
    const workloads = await restartAndFollow(run.finisher, secrets);
    return outcomeOf(run.ref, { finishing: run.rotated, detail: 'beta unreachable' }, workloads);
  }

  it('one of two retries finishes the rollout on the new version, no second rotation, and the row goes', async () => {
    await consumer('reached-ok', 'reached-ok', { fragile: false });
    await consumer('missed-ok', 'missed-ok', { fragile: false });
    const run = await halfRolledOutThenTwoRetries('reached-ok');

    expect(run.first.errors).toEqual([
      expect.objectContaining({ reason: expect.stringContaining('beta unreachable') }),
    ]);
    expect(run.answers.map((x) => x.status).sort()).toEqual(['finishing', 'skipped']);
    expect(run.answers.find((x) => x.status === 'skipped')).toMatchObject({ reason: 'awaiting-rollout' });
    const outcome = await finishingRun(run, ['reached-ok', 'missed-ok'], 'missed-ok');
    const final = await settled(run.finisher.verified, outcome);

    expect(final.workloads).toEqual([
      expect.objectContaining({
        status: 'already-current',
        name: 'reached-ok',
        rollout: expect.objectContaining({ status: 'rolled-out' }),
      }),
      expect.objectContaining({
        status: 'restarted',
        name: 'missed-ok',
        rollout: expect.objectContaining({ status: 'rolled-out' }),
      }),
    ]);
    expect(final.undo).toBeUndefined();
    expect((await kv.getSecret(run.name)).properties.version).toBe(run.rotated);
    // Settled in the shared table: any instance may rotate again.
    expect((await run.waiter.verified.rotate(run.ref, { reason: 'manual' })).status).toBe('rotated');
  });

  it('undoes once when the consumer it reaches fails on the new version; the retry that waited does nothing', async () => {
    await consumer('reached-ok2', 'reached-ok2', { fragile: false });
    await consumer('missed-fragile', 'missed-fragile', { fragile: true });
    const run = await halfRolledOutThenTwoRetries('reached-ok2');

    const outcome = await finishingRun(run, ['reached-ok2', 'missed-fragile'], 'missed-fragile');
    const late = await settled(run.waiter.verified, outcome);
    const final = await settled(run.finisher.verified, outcome);

    expect(late.undo).toBeUndefined();
    const current = await kv.getSecret(run.name);
    expect(final.undo).toEqual({
      status: 'restored',
      failed: [`${f.cluster.name}/Deployment/${ns}/missed-fragile`],
      previousVersion: run.before,
      restoredVersion: current.properties.version,
      rerun: `${outcome.eventId}-undo`,
    });
    expect(current.value).toBe('good');
    expect([...run.finisher.errors, ...run.waiter.errors]).toEqual([
      expect.objectContaining({ undo: 'restored' }),
    ]);
  });
});

describe("the timer's run after a rotation whose new version did not reach every consumer", () => {
  it('finishes that rollout by itself, though no retry came and the secret is not due, and the row goes', async () => {
    await consumer('reached-t', 'reached-t', { fragile: false });
    await consumer('missed-t', 'missed-t', { fragile: false });
    const { ref, name, prefix, rotated } = await halfRolledOut('reached-t');
    const timer = rotor(prefix);
    const events: ChangeEvent[] = [];

    // The Runner's part, as the pipeline does it: the rotate port, then (finishing) the
    // operator syncs the new version, restart and follow, and settle.
    const outcomes = await runDueScan({
      housekeeping: [],
      scan: async () => [], // rotated a moment ago: its policy says it is not due
      process: async (event) => {
        events.push(event);
        const options = { reason: event.kind, ...(event.version ? { expectedVersion: event.version } : {}) };
        const rotation = await timer.verified.rotate(event.ref, options);
        if (rotation.status !== 'finishing') throw new Error(`not finishing: ${JSON.stringify(rotation)}`);
        await f.updateSecret(ns, 'missed-t', { password: 'new' });
        const workloads = await restartAndFollow(timer, ['reached-t', 'missed-t']);
        const outcome = outcomeOf(ref, { finishing: rotation.version, detail: rotation.detail }, workloads);
        return settled(timer.verified, {
          ...outcome,
          eventId: event.id,
          kind: event.kind,
          source: event.source,
        });
      },
      finishing: { store: timer.store, schedule: '0 */5 * * * *' },
      clock: systemClock,
      log: createLogger('error', () => undefined),
    });

    expect(events.map((e) => [e.id.replace(/\/[^/]+$/, ''), e.kind, e.source, e.version])).toEqual([
      [`finish:${refKey(ref)}@${rotated}`, 'rotate-due', 'timer', rotated],
    ]);
    expect(outcomes).toEqual([
      expect.objectContaining({
        rotation: expect.objectContaining({ finishing: rotated }),
        workloads: [
          expect.objectContaining({ status: 'already-current', name: 'reached-t' }),
          expect.objectContaining({
            status: 'restarted',
            name: 'missed-t',
            rollout: expect.objectContaining({ status: 'rolled-out' }),
          }),
        ],
      }),
    ]);
    expect((await kv.getSecret(name)).properties.version).toBe(rotated);
    // Settled in the shared table: nothing left for the next tick.
    expect(await timer.store.list()).toEqual([]);
  });
});
