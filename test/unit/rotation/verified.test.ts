import { describe, expect, it } from 'vitest';
import type { NewVersion, SecretWithValue } from '../../../lib/backends/backend.js';
import type { Outcome, RolloutReport } from '../../../lib/outcome.js';
import type { RotationResult } from '../../../lib/rotation/gate.js';
import { VerifiedRotation } from '../../../lib/rotation/verified.js';
import { refKey, type SecretRef } from '../../../lib/secret-ref.js';

const REF: SecretRef = { backend: 'azure-keyvault', vault: 'kv', name: 'db' };
const VERIFY = { 'rotor-generator': 'password', 'rotor-verify': 'rollout' };

/** A one-secret store: rotate() writes version n+1, as the rotation engine would. */
function setup(metadata: Record<string, string> = VERIFY, undo = true) {
  let current: SecretWithValue = { ref: REF, version: 'v1', value: 'old', metadata, enabled: true };
  const writes: NewVersion[] = [];
  const errors: Array<Record<string, unknown>> = [];
  const rotations: string[] = [];
  const backend = {
    read: async () => current,
    write: async (_ref: SecretRef, next: NewVersion) => {
      writes.push(next);
      const version = `v${Number(current.version?.slice(1)) + 1}`;
      current = { ...current, version, value: next.value, metadata: next.metadata ?? {} };
      return { version };
    },
  };
  const verified = new VerifiedRotation({
    rotate: async (): Promise<RotationResult> => {
      const previousVersion = current.version as string;
      const { version } = await backend.write(REF, { value: 'new', metadata: current.metadata });
      rotations.push(version);
      return { status: 'rotated', newVersion: version, previousVersion };
    },
    backends: { get: () => backend as never },
    config: { rotation: { undo, defaultValidityDays: 60 } },
    log: { warn: () => undefined, error: (_m, fields) => errors.push(fields) },
  });
  const reruns: string[] = [];
  const rerun = (_ref: SecretRef, version: string, after: Outcome) => {
    reruns.push(version);
    return `${after.eventId}-undo`;
  };
  return { verified, writes, errors, rotations, reruns, rerun, current: () => current };
}

function outcome(newVersion: string, rollouts: RolloutReport[]): Outcome {
  return {
    eventId: 'ev-1',
    ref: refKey(REF),
    kind: 'rotate-requested',
    source: 'manual',
    status: 'completed',
    rotation: { newVersion },
    refreshes: [],
    workloads: rollouts.map((rollout, i) => ({
      status: 'restarted',
      cluster: 'alpha',
      kind: 'Deployment',
      namespace: 'app',
      name: `w${i}`,
      hashes: [],
      ...(rollout ? { rollout } : {}),
    })),
    clusterFailures: [],
    timeline: [],
    dryRun: false,
  };
}

const FAILED = {
  status: 'rollout-failed',
  ms: 10_000,
  reason: 'ProgressDeadlineExceeded',
  message: 'x',
} as const;
const OK = { status: 'rolled-out', ms: 900 } as const;

describe('VerifiedRotation: rotation, safe to undo', () => {
  it('does not rotate again while the consumers of the last rotation have not all rolled out on it', async () => {
    const s = setup();
    await s.verified.rotate(REF, { reason: 'manual' });

    const second = await s.verified.rotate(REF, { reason: 'manual' });
    expect(second).toMatchObject({ status: 'skipped', reason: 'awaiting-rollout', currentVersion: 'v2' });

    await s.verified.settle(outcome('v2', [OK, OK]), s.rerun);
    expect(await s.verified.rotate(REF, { reason: 'manual' })).toMatchObject({
      status: 'rotated',
      newVersion: 'v3',
    });
    expect(s.rotations).toEqual(['v2', 'v3']);
  });

  it('restores the previous value as a new version, conditional on the rotated one, and reruns on it', async () => {
    const s = setup();
    await s.verified.rotate(REF, { reason: 'manual' });

    const settled = await s.verified.settle(outcome('v2', [OK, FAILED]), s.rerun);

    expect(settled.undo).toEqual({
      status: 'restored',
      failed: ['alpha/Deployment/app/w1'],
      previousVersion: 'v1',
      restoredVersion: 'v3',
      rerun: 'ev-1-undo',
    });
    expect(s.writes.at(-1)).toMatchObject({ value: 'old', expectedVersion: 'v2', metadata: VERIFY });
    expect(s.reruns).toEqual(['v3']);
    expect(s.errors).toEqual([
      expect.objectContaining({ undo: 'restored', failed: ['alpha/Deployment/app/w1'] }),
    ]);
    // Undone: the secret may rotate again.
    expect((await s.verified.rotate(REF, { reason: 'manual' })).status).toBe('rotated');
  });

  it('only alerts when the policy did not ask for verification, and keeps the secret from rotating again', async () => {
    const s = setup({ 'rotor-generator': 'password' });
    await s.verified.rotate(REF, { reason: 'manual' });

    const settled = await s.verified.settle(outcome('v2', [FAILED]), s.rerun);

    expect(settled.undo).toMatchObject({
      status: 'not-restored',
      reason: expect.stringContaining('rotor-verify'),
    });
    expect(s.writes).toHaveLength(1);
    expect(s.errors).toHaveLength(1);
    expect((await s.verified.rotate(REF, { reason: 'manual' })).status).toBe('skipped');
  });

  it('never restores what is no longer valid or what configuration does not allow', async () => {
    const single = setup({ 'rotor-generator': 'postgres', 'rotor-verify': 'rollout', CredentialId: 'app' });
    await single.verified.rotate(REF, { reason: 'manual' });
    const off = setup(VERIFY, false);
    await off.verified.rotate(REF, { reason: 'manual' });

    const a = await single.verified.settle(outcome('v2', [FAILED]), single.rerun);
    const b = await off.verified.settle(outcome('v2', [FAILED]), off.rerun);

    expect(a.undo).toMatchObject({ status: 'not-restored', reason: expect.stringContaining('single-role') });
    expect(b.undo).toMatchObject({
      status: 'not-restored',
      reason: expect.stringContaining('rotation.undo'),
    });
    expect([...single.reruns, ...off.reruns]).toEqual([]);
  });

  it('leaves outcomes alone that are not about its last rotation, or whose rollouts are still followed', async () => {
    const s = setup();
    await s.verified.rotate(REF, { reason: 'manual' });

    const other = outcome('v9', [FAILED]);
    const following = outcome('v2', [{ status: 'following' }]);
    expect(await s.verified.settle(other, s.rerun)).toBe(other);
    expect(await s.verified.settle(following, s.rerun)).toBe(following);
    expect(s.writes).toHaveLength(1);
  });

  it('is settled by a later run of the secret that rolls every consumer out (after a fix, by hand)', async () => {
    const s = setup({ 'rotor-generator': 'password' });
    await s.verified.rotate(REF, { reason: 'manual' });
    await s.verified.settle(outcome('v2', [FAILED]), s.rerun);
    const { rotation: _r, ...refresh } = outcome('v2', [OK]);

    await s.verified.settle(refresh, s.rerun);

    expect((await s.verified.rotate(REF, { reason: 'manual' })).status).toBe('rotated');
  });
});
