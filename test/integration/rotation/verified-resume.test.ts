/**
 * Verified rotation across a host restart, on real servers: the undo state in Azurite's
 * Table Storage, the secret in the Key Vault stand-in through the real SDK, the rotation
 * engine with its table leases. The first instance rotates and answers with its rollouts
 * still followed, then is gone; new instances find the record, follow the rollouts again
 * (a follow port that reports what the clusters would) and settle the rotation once.
 */
import { TableClient } from '@azure/data-tables';
import { describe, expect, it } from 'vitest';
import { createBackends } from '../../../lib/backends/registry.js';
import type { Clock } from '../../../lib/clock.js';
import { parseConfig } from '../../../lib/config.js';
import type { FollowPort } from '../../../lib/follow-up.js';
import type { Outcome, RolloutResult } from '../../../lib/outcome.js';
import { RotationEngine } from '../../../lib/rotation/engine.js';
import { VerifiedRotation } from '../../../lib/rotation/verified.js';
import { type KeyVaultRef, refKey } from '../../../lib/secret-ref.js';
import { TableLeaseStore } from '../../../lib/state/lease.js';
import { TableIdempotencyStore } from '../../../lib/state/table-idempotency.js';
import { TableVerificationStore } from '../../../lib/state/table-verifications.js';
import { Tables } from '../../../lib/state/tables.js';
import type { VerificationRecord } from '../../../lib/state/verifications.js';
import { keyVaultClientForTest, testEnv, uniqueName } from '../../env/index.js';
import { testConfig } from '../backends/support.js';

const env = testEnv();
const kv = keyVaultClientForTest(env.lowkey);
const FOLLOW_MS = 30_000;
const FAILED: RolloutResult = {
  status: 'rollout-failed',
  ms: 10_000,
  reason: 'ProgressDeadlineExceeded',
  message: 'x',
};

/** One table prefix per test: resume() reads every record of its table. */
function stateConfig() {
  const prefix = uniqueName('vt').replace(/[^a-z0-9]/g, '');
  return parseConfig({ state: { connectionString: env.azurite.tableConnectionString, tablePrefix: prefix } })
    .state;
}

function manualClock(): Clock & { advance(ms: number): void } {
  let now = Date.now();
  return { now: () => new Date(now), advance: (ms) => (now += ms) };
}

/** One rotor instance: its own table clients, backends and engine, as a separate process would have. */
function instance(state: ReturnType<typeof stateConfig>, clock: Clock, rollouts: RolloutResult[] = []) {
  const config = testConfig(env);
  const tables = new Tables(state);
  const backends = createBackends(config);
  const engine = new RotationEngine({
    backends,
    config,
    clock,
    leases: new TableLeaseStore(tables, { clock }),
  });
  const reruns: string[] = [];
  const errors: Array<Record<string, unknown>> = [];
  const followed: string[] = [];
  const follow: FollowPort = async (_cluster, w) => {
    followed.push(w.name);
    return rollouts[followed.length - 1] ?? { status: 'rolled-out', ms: 50 };
  };
  const verified = new VerifiedRotation({
    rotate: (ref, options) => engine.rotate(ref, options),
    backends,
    store: new TableVerificationStore(tables),
    runs: new TableIdempotencyStore(tables),
    config,
    bounds: { rotationMs: 2 * FOLLOW_MS, followMs: FOLLOW_MS },
    follow,
    rerun: (_ref, version, eventId) => {
      reruns.push(version);
      return `${eventId}-undo`;
    },
    clock,
    log: { info: () => undefined, warn: () => undefined, error: (_m, f) => errors.push(f ?? {}) },
  });
  return { verified, reruns, errors, followed };
}

function answered(ref: KeyVaultRef, newVersion: string): Outcome {
  return {
    eventId: uniqueName('ev'),
    ref: refKey(ref),
    kind: 'rotate-requested',
    source: 'manual',
    status: 'completed',
    rotation: { newVersion },
    refreshes: [],
    workloads: ['api', 'web'].map((name) => ({
      status: 'restarted' as const,
      cluster: 'alpha',
      kind: 'Deployment',
      namespace: 'shop',
      name,
      hashes: ['h'],
      generation: 2,
      rollout: { status: 'following' as const },
    })),
    clusterFailures: [],
    timeline: [],
    dryRun: false,
  };
}

/** A verified secret, rotated by a first instance that answered and then stopped. */
async function rotatedByAStoppedInstance(state: ReturnType<typeof stateConfig>, clock: Clock) {
  const name = uniqueName('verify-kv');
  const ref: KeyVaultRef = { backend: 'azure-keyvault', vault: env.lowkey.vaultName, name };
  const seeded = await kv.setSecret(name, 'value-before', {
    tags: { 'rotor-generator': 'password', 'rotor-verify': 'rollout' },
  });
  const first = instance(state, clock);
  const rotated = await first.verified.rotate(ref, { reason: 'manual' });
  if (rotated.status !== 'rotated') throw new Error(`not rotated: ${JSON.stringify(rotated)}`);
  const answer = answered(ref, rotated.newVersion);
  // What the runner records when the run answers (rotor status reads it).
  const runs = new TableIdempotencyStore(new Tables(state));
  const claim = await runs.putInProgress(`manual:${answer.eventId}`, new Date(Date.now() + 60_000));
  await runs.complete(claim, new Date(), JSON.stringify(answer));
  await first.verified.track(answer);
  return {
    name,
    ref,
    before: seeded.properties.version as string,
    rotated: rotated.newVersion,
    eventId: answer.eventId,
  };
}

async function versionsOf(name: string): Promise<number> {
  let n = 0;
  for await (const _ of kv.listPropertiesOfSecretVersions(name)) n++;
  return n;
}

describe('verified rotation across a host restart (Azurite, Key Vault stand-in)', () => {
  it('keeps the undo state in the table without a secret value, and two new instances undo it once', async () => {
    const state = stateConfig();
    const clock = manualClock();
    const { name, ref, before, rotated, eventId } = await rotatedByAStoppedInstance(state, clock);
    const rotatedValue = (await kv.getSecret(name)).value as string;

    const raw = TableClient.fromConnectionString(
      env.azurite.tableConnectionString,
      `${state.tablePrefix}Verifications`,
      {
        allowInsecureConnection: true,
      },
    );
    const rows = [];
    for await (const row of raw.listEntities()) rows.push(row);
    expect(rows).toHaveLength(1);
    const record = JSON.parse(String(rows[0]?.record)) as VerificationRecord;
    expect(record).toMatchObject({ newVersion: rotated, previousVersion: before, state: 'rolling' });
    expect(record.workloads.map((w) => w.name)).toEqual(['api', 'web']);
    expect(JSON.stringify(rows)).not.toContain('value-before');
    expect(JSON.stringify(rows)).not.toContain(rotatedValue);

    const [b, c] = [instance(state, clock, [FAILED, FAILED]), instance(state, clock, [FAILED, FAILED])];
    clock.advance(FOLLOW_MS + 1);
    await Promise.all([b?.verified.resume(), c?.verified.resume()]);

    const current = await kv.getSecret(name);
    expect(current.value).toBe('value-before');
    expect(await versionsOf(name)).toBe(3); // seeded, rotated, restored: one undo
    expect([...(b?.reruns ?? []), ...(c?.reruns ?? [])]).toEqual([current.properties.version]);
    expect(await new TableVerificationStore(new Tables(state)).list()).toEqual([]);
    // `rotor status <event id>` tells how it ended, though the instance that ran it is gone.
    const recorded = await new TableIdempotencyStore(new Tables(state)).get(`manual:${eventId}`);
    expect(JSON.parse(recorded?.result ?? '{}')).toMatchObject({
      undo: { status: 'restored', previousVersion: before, restoredVersion: current.properties.version },
      workloads: [{ rollout: { status: 'rollout-failed' } }, { rollout: { status: 'rollout-failed' } }],
    });
    // Settled: a later rotation is not held back.
    expect((await instance(state, clock).verified.rotate(ref, { reason: 'manual' })).status).toBe('rotated');
  });

  it('completes and deletes the record when the rollouts were healthy, leaving the new version current', async () => {
    const state = stateConfig();
    const clock = manualClock();
    const { name, rotated } = await rotatedByAStoppedInstance(state, clock);
    const next = instance(state, clock);

    clock.advance(FOLLOW_MS + 1);
    await next.verified.resume();

    expect(next.followed).toEqual(['api', 'web']);
    expect((await kv.getSecret(name)).properties.version).toBe(rotated);
    expect(await versionsOf(name)).toBe(2);
    expect(await new TableVerificationStore(new Tables(state)).list()).toEqual([]);
  });

  it('TableVerificationStore: one record per secret, and writes only on the ETag last read', async () => {
    const store = new TableVerificationStore(new Tables(stateConfig()));
    const ref: KeyVaultRef = { backend: 'azure-keyvault', vault: 'kv', name: uniqueName('s') };
    const record: VerificationRecord = {
      ref,
      newVersion: 'b',
      previousVersion: 'a',
      verify: true,
      generator: { kind: 'password' },
      state: 'rolling',
      workloads: [],
      rotatedAt: new Date().toISOString(),
      owner: 'one',
      deadline: new Date().toISOString(),
    };
    const created = await store.create(record);
    expect(await store.create({ ...record, owner: 'two' })).toBeUndefined();

    const key = refKey(ref);
    const mine = await store.replace(key, { ...record, owner: 'mine' }, created?.etag ?? '');
    const stale = await store.replace(key, { ...record, owner: 'stale' }, created?.etag ?? '');
    expect(mine?.record.owner).toBe('mine');
    expect(stale).toBeUndefined();
    expect(await store.remove(key, created?.etag ?? '')).toBe(false);
    expect((await store.get(key))?.record.owner).toBe('mine');
    expect(await store.remove(key, mine?.etag ?? '')).toBe(true);
    expect(await store.get(key)).toBeUndefined();
  });
});
