import { describe, expect, it } from 'vitest';
import type { NewVersion, SecretWithValue } from '../../../lib/backends/backend.js';
import { ConflictError, TransientError } from '../../../lib/errors.js';
import type { FollowPort } from '../../../lib/follow-up.js';
import type { Outcome, RolloutReport, RolloutResult } from '../../../lib/outcome.js';
import type { RotationResult } from '../../../lib/rotation/gate.js';
import { rotationPort } from '../../../lib/rotation/port.js';
import { VerifiedRotation } from '../../../lib/rotation/verified.js';
import { Runner } from '../../../lib/run.js';
import { refKey, type SecretRef } from '../../../lib/secret-ref.js';
import { MemoryIdempotencyStore } from '../../../lib/state/memory-idempotency.js';
import { MemoryVerificationStore, type VerificationStore } from '../../../lib/state/verifications.js';
import { createTelemetry } from '../../../lib/telemetry.js';
import { testConfig } from '../events/support.js';
import { ES, fakePorts, ManualClock, restarted, runnerTestSettings } from '../support/fake-ports.js';
import { drain, ManualTime } from '../support/manual-time.js';

const REF: SecretRef = { backend: 'azure-keyvault', vault: 'kv', name: 'db' };
const KEY = refKey(REF);
const VERIFY = { 'rotor-generator': 'password', 'rotor-verify': 'rollout' };
const FOLLOW_MS = 60_000;
const ROTATION_MS = 120_000;

/**
 * A one-secret store with its versions (an undo reads the previous one by id), shared by
 * every engine of a test as two rotor instances share Key Vault and the state store.
 */
function world(metadata: Record<string, string> = VERIFY) {
  const versions: SecretWithValue[] = [{ ref: REF, version: 'v1', value: 'old', metadata, enabled: true }];
  const current = () => versions.at(-1) as SecretWithValue;
  const writes: NewVersion[] = [];
  const backend = {
    readMetadata: async () => {
      const { value: _v, ...snapshot } = current();
      return snapshot;
    },
    read: async (_ref: SecretRef, version?: string) => {
      const found = version === undefined ? current() : versions.find((v) => v.version === version);
      if (!found) throw new Error(`no version ${version}`);
      return found;
    },
    write: async (_ref: SecretRef, next: NewVersion) => {
      if (next.expectedVersion !== undefined && next.expectedVersion !== current().version)
        throw new ConflictError(`current version is no longer ${next.expectedVersion}`);
      writes.push(next);
      const version = `v${versions.length + 1}`;
      versions.push({ ...current(), version, value: next.value, metadata: next.metadata ?? {} });
      return { version };
    },
  };
  const store = new MemoryVerificationStore();
  const time = new ManualTime();
  return { backend, store, time, writes, current, versions };
}

type World = ReturnType<typeof world>;

/** One rotor instance over the shared world; `rollouts` is how the clusters answer its follower. */
function engine(
  w: World,
  options: {
    undo?: boolean;
    /** How the clusters answer each follow, in order; `held`: never (that instance stops while following). */
    rollouts?: Array<RolloutResult | 'held'>;
    store?: VerificationStore;
    owner?: string;
    runs?: MemoryIdempotencyStore;
  } = {},
) {
  const errors: Array<Record<string, unknown>> = [];
  const reruns: Array<{ version: string; eventId: string }> = [];
  const followed: string[] = [];
  const follow: FollowPort = async (cluster, workload) => {
    followed.push(
      `${cluster}/${workload.kind}/${workload.name}@${workload.status === 'restarted' ? workload.generation : ''}`,
    );
    const answer = options.rollouts?.[followed.length - 1] ?? { status: 'rolled-out', ms: 100 };
    return answer === 'held' ? new Promise<RolloutResult>(() => undefined) : answer;
  };
  const verified = new VerifiedRotation({
    rotate: async (): Promise<RotationResult> => {
      const previousVersion = w.current().version as string;
      const { version } = await w.backend.write(REF, { value: 'new', metadata: w.current().metadata });
      return { status: 'rotated', newVersion: version, previousVersion };
    },
    backends: { get: () => w.backend as never },
    store: options.store ?? w.store,
    config: { rotation: { undo: options.undo ?? true, defaultValidityDays: 60 } },
    bounds: { rotationMs: ROTATION_MS, followMs: FOLLOW_MS },
    follow,
    rerun: (_ref, version, eventId) => {
      reruns.push({ version, eventId });
      return `${eventId}-undo`;
    },
    clock: w.time,
    timers: w.time,
    ...(options.owner ? { owner: options.owner } : {}),
    ...(options.runs ? { runs: options.runs } : {}),
    log: {
      info: () => undefined,
      warn: () => undefined,
      error: (_m, fields) => errors.push(fields ?? {}),
    },
  });
  return { verified, errors, reruns, followed };
}

function outcome(newVersion: string | undefined, rollouts: RolloutReport[], eventId = 'ev-1'): Outcome {
  return {
    eventId,
    ref: KEY,
    kind: 'rotate-requested',
    source: 'manual',
    status: 'completed',
    ...(newVersion ? { rotation: { newVersion } } : {}),
    refreshes: [],
    workloads: rollouts.map((rollout, i) => ({
      status: 'restarted',
      cluster: 'alpha',
      kind: 'Deployment',
      namespace: 'app',
      name: `w${i}`,
      hashes: ['h'],
      generation: 7 + i,
      ...(rollout ? { rollout } : {}),
    })),
    clusterFailures: [],
    timeline: [],
    dryRun: false,
  };
}

/** What the Runner records in the end: settle's outcome, or the final one when the verification goes on after the answer. */
async function settledFinally(verified: VerifiedRotation, o: Outcome): Promise<Outcome> {
  const settled = await verified.settle(o);
  return 'final' in settled ? settled.final : settled;
}

const FAILED = {
  status: 'rollout-failed',
  ms: 10_000,
  reason: 'ProgressDeadlineExceeded',
  message: 'x',
} as const;
const OK = { status: 'rolled-out', ms: 900 } as const;
const FOLLOWING = { status: 'following' } as const;
/**
 * A rollout rotor followed but did not start (another run's restart, or a take-over): its
 * `ms` counts only from when rotor began following it, and says so.
 */
const FOLLOWED_FAILED = { ...FAILED, since: 'followed' } as const;
const FOLLOWED_OK = { ...OK, since: 'followed' } as const;

describe('VerifiedRotation: rotation, safe to undo', () => {
  it('does not rotate again while the consumers of the last rotation have not all rolled out on it', async () => {
    const w = world();
    const s = engine(w);
    await s.verified.rotate(REF, { reason: 'manual' });

    const second = await s.verified.rotate(REF, { reason: 'manual' });
    expect(second).toMatchObject({ status: 'skipped', reason: 'awaiting-rollout', currentVersion: 'v2' });

    await s.verified.settle(outcome('v2', [OK, OK]));
    expect(await s.verified.rotate(REF, { reason: 'manual' })).toMatchObject({
      status: 'rotated',
      newVersion: 'v3',
    });
    expect(w.versions.map((v) => v.value)).toEqual(['old', 'new', 'new']);
  });

  it('restores the previous value as a new version, conditional on the rotated one, and reruns on it', async () => {
    const w = world();
    const s = engine(w);
    await s.verified.rotate(REF, { reason: 'manual' });

    const settled = await settledFinally(s.verified, outcome('v2', [OK, FAILED]));

    expect(settled.undo).toEqual({
      status: 'restored',
      failed: ['alpha/Deployment/app/w1'],
      previousVersion: 'v1',
      restoredVersion: 'v3',
      rerun: 'ev-1-undo',
    });
    expect(w.writes.at(-1)).toMatchObject({ value: 'old', expectedVersion: 'v2', metadata: VERIFY });
    expect(s.reruns).toEqual([{ version: 'v3', eventId: 'ev-1' }]);
    expect(s.errors).toEqual([
      expect.objectContaining({ undo: 'restored', failed: ['alpha/Deployment/app/w1'] }),
    ]);
    // Undone: nothing is left in the store, and the secret may rotate again.
    expect(await w.store.list()).toEqual([]);
    expect((await s.verified.rotate(REF, { reason: 'manual' })).status).toBe('rotated');
  });

  it('only alerts when the policy did not ask for verification, and keeps the secret from rotating again', async () => {
    const w = world({ 'rotor-generator': 'password' });
    const s = engine(w);
    await s.verified.rotate(REF, { reason: 'manual' });

    const settled = await settledFinally(s.verified, outcome('v2', [FAILED]));

    expect(settled.undo).toMatchObject({
      status: 'not-restored',
      reason: expect.stringContaining('rotor-verify'),
    });
    expect(w.writes).toHaveLength(1);
    expect(s.errors).toHaveLength(1);
    // A fresh instance sees it too: the state store, not this process, keeps the secret from
    // rotating; a retry refreshes and restarts on v2 (finishes its rollout) instead.
    expect(await engine(w).verified.rotate(REF, { reason: 'manual' })).toMatchObject({
      status: 'finishing',
      version: 'v2',
    });
    expect(w.writes).toHaveLength(1);
  });

  it('never restores what is no longer valid or what configuration does not allow', async () => {
    const single = world({ 'rotor-generator': 'postgres', 'rotor-verify': 'rollout', CredentialId: 'app' });
    const a = engine(single);
    await a.verified.rotate(REF, { reason: 'manual' });
    const off = world();
    const b = engine(off, { undo: false });
    await b.verified.rotate(REF, { reason: 'manual' });

    const settledA = await settledFinally(a.verified, outcome('v2', [FAILED]));
    const settledB = await settledFinally(b.verified, outcome('v2', [FAILED]));

    expect(settledA.undo).toMatchObject({
      status: 'not-restored',
      reason: expect.stringContaining('single-role'),
    });
    expect(settledB.undo).toMatchObject({
      status: 'not-restored',
      reason: expect.stringContaining('rotation.undo'),
    });
    expect([...a.reruns, ...b.reruns]).toEqual([]);
  });

  it('leaves outcomes alone that are not about its last rotation, or whose rollouts are still followed', async () => {
    const w = world();
    const s = engine(w);
    await s.verified.rotate(REF, { reason: 'manual' });

    const other = outcome('v9', [FAILED]);
    const following = outcome('v2', [FOLLOWING]);
    expect(await s.verified.settle(other)).toBe(other);
    expect(await s.verified.settle(following)).toBe(following);
    expect(w.writes).toHaveLength(1);
  });

  it('is settled by a later run of the secret that rolls every consumer out (after a fix, by hand)', async () => {
    const w = world({ 'rotor-generator': 'password' });
    const s = engine(w);
    await s.verified.rotate(REF, { reason: 'manual' });
    await s.verified.settle(outcome('v2', [FAILED]));

    await s.verified.settle(outcome(undefined, [OK]));

    expect(await w.store.list()).toEqual([]);
    expect((await s.verified.rotate(REF, { reason: 'manual' })).status).toBe('rotated');
  });

  it('keeps versions and workloads in the state store, never a secret value', async () => {
    const w = world();
    const s = engine(w);
    await s.verified.rotate(REF, { reason: 'manual' });
    await s.verified.track(outcome('v2', [FOLLOWING, FOLLOWING]));

    const [stored] = await w.store.list();
    expect(stored?.record).toMatchObject({
      newVersion: 'v2',
      previousVersion: 'v1',
      state: 'rolling',
      eventId: 'ev-1',
      workloads: [
        { cluster: 'alpha', kind: 'Deployment', namespace: 'app', name: 'w0', generation: 7 },
        { cluster: 'alpha', kind: 'Deployment', namespace: 'app', name: 'w1', generation: 8 },
      ],
    });
    expect(JSON.stringify(stored)).not.toMatch(/"(old|new)"/);
  });
});

describe('VerifiedRotation: a host that stops while the rollouts are followed', () => {
  /** The first instance rotates, answers with its rollouts still followed, then stops. */
  async function crashAfterAnswer(w: World) {
    const first = engine(w, { owner: 'first' });
    await first.verified.rotate(REF, { reason: 'manual' });
    await first.verified.track(outcome('v2', [FOLLOWING, FOLLOWING]));
    return first;
  }

  it('is undone by a new instance when a rollout failed: it reads the record, follows again and restores', async () => {
    const w = world();
    await crashAfterAnswer(w);
    const next = engine(w, { owner: 'next', rollouts: [OK, FAILED] });

    await w.time.advance(FOLLOW_MS + 1);
    await next.verified.resume();

    expect(next.followed).toEqual(['alpha/Deployment/w0@7', 'alpha/Deployment/w1@8']);
    expect(w.writes.at(-1)).toMatchObject({ value: 'old', expectedVersion: 'v2' });
    expect(w.current()).toMatchObject({ version: 'v3', value: 'old' });
    expect(next.reruns).toEqual([{ version: 'v3', eventId: 'ev-1' }]);
    expect(next.errors).toEqual([
      expect.objectContaining({ undo: 'restored', failed: ['alpha/Deployment/app/w1'] }),
    ]);
    expect(await w.store.list()).toEqual([]);
  });

  it('writes what it saw and did into the rotating run’s record, so `rotor status` tells how it ended', async () => {
    const w = world();
    const runs = new MemoryIdempotencyStore();
    const claim = await runs.putInProgress('manual:ev-1', new Date(w.time.nowMs + 60_000));
    await runs.complete(claim, w.time.now(), JSON.stringify(outcome('v2', [FOLLOWING, FOLLOWING])));
    await crashAfterAnswer(w);
    const next = engine(w, { owner: 'next', rollouts: [OK, FAILED], runs });

    await w.time.advance(FOLLOW_MS + 1);
    await next.verified.resume();

    const recorded = JSON.parse((await runs.get('manual:ev-1'))?.result ?? '{}') as Outcome;
    // Followed from the take-over on: the time is how long it was followed, not since the restart.
    expect(recorded.workloads.map((x) => (x.status === 'restarted' ? x.rollout : x.status))).toEqual([
      FOLLOWED_OK,
      FOLLOWED_FAILED,
    ]);
    expect(recorded.undo).toMatchObject({ status: 'restored', restoredVersion: 'v3', rerun: 'ev-1-undo' });
  });

  it('completes and deletes the record when the rollouts were healthy, writing nothing', async () => {
    const w = world();
    await crashAfterAnswer(w);
    const next = engine(w, { owner: 'next', rollouts: [OK, OK] });

    await w.time.advance(FOLLOW_MS + 1);
    await next.verified.resume();

    expect(next.followed).toHaveLength(2);
    expect(w.writes).toHaveLength(1); // the rotation only
    expect(await w.store.list()).toEqual([]);
    expect((await next.verified.rotate(REF, { reason: 'manual' })).status).toBe('rotated');
  });

  it('leaves a rotation to its follower until the deadline, then takes it over on its own timer', async () => {
    const w = world();
    await crashAfterAnswer(w);
    const next = engine(w, { owner: 'next', rollouts: [OK, FAILED] });

    await next.verified.resume(); // at start: the first instance might still be following
    expect(next.followed).toEqual([]);

    await w.time.advance(FOLLOW_MS + 2_000); // the timer resume() armed for the deadline
    expect(next.followed).toHaveLength(2);
    expect(w.current()).toMatchObject({ version: 'v3', value: 'old' });
  });

  it('undoes once when two instances resume the same rotation at once', async () => {
    const w = world();
    await crashAfterAnswer(w);
    const a = engine(w, { owner: 'a', rollouts: [FAILED, FAILED] });
    const b = engine(w, { owner: 'b', rollouts: [FAILED, FAILED] });

    await w.time.advance(FOLLOW_MS + 1);
    await Promise.all([a.verified.resume(), b.verified.resume()]);

    expect(w.writes.filter((n) => n.value === 'old')).toHaveLength(1);
    expect([...a.reruns, ...b.reruns]).toHaveLength(1);
    expect(a.followed.length + b.followed.length).toBe(2);
  });

  it('lets the instance that took over decide; the slow original neither undoes nor reruns', async () => {
    const w = world();
    const first = await crashAfterAnswer(w); // not stopped after all: only slow
    const next = engine(w, { owner: 'next', rollouts: [FAILED, OK] });
    await w.time.advance(FOLLOW_MS + 1);
    await next.verified.resume();

    const late = await settledFinally(first.verified, outcome('v2', [FAILED, OK]));

    expect(late.undo).toMatchObject({ status: 'not-restored', reason: expect.stringContaining('another') });
    expect(w.writes.filter((n) => n.value === 'old')).toHaveLength(1);
    expect(first.reruns).toEqual([]);
    expect(next.reruns).toHaveLength(1);
  });

  it('without the workloads (it stopped before answering) alerts, keeps the secret from rotating, and writes nothing', async () => {
    const w = world();
    await engine(w, { owner: 'first' }).verified.rotate(REF, { reason: 'manual' });
    const next = engine(w, { owner: 'next' });

    await w.time.advance(ROTATION_MS + 1);
    await next.verified.resume();

    expect(next.followed).toEqual([]);
    expect(w.writes).toHaveLength(1);
    expect(next.errors).toEqual([
      expect.objectContaining({ reason: expect.stringContaining('before the run that rotated recorded') }),
    ]);
    expect(await next.verified.rotate(REF, { reason: 'manual' })).toMatchObject({ status: 'finishing' });
    expect(w.writes).toHaveLength(1);
    // That retry's run (refresh and restart on v2) rolls every consumer out: settled.
    await next.verified.settle(finishing('v2', [OK, OK]));
    expect(await w.store.list()).toEqual([]);
  });

  it('does not undo over a version someone wrote since: the rotation is over, the record goes', async () => {
    const w = world();
    await crashAfterAnswer(w);
    await w.backend.write(REF, { value: 'by-hand' });
    const next = engine(w, { owner: 'next', rollouts: [FAILED, OK] });

    await w.time.advance(FOLLOW_MS + 1);
    await next.verified.resume();

    expect(w.current()).toMatchObject({ value: 'by-hand' });
    expect(next.errors).toEqual([
      expect.objectContaining({ undo: 'not-restored', reason: expect.stringContaining('no longer v2') }),
    ]);
    expect(await w.store.list()).toEqual([]);
  });
});

/**
 * The rotating run's outcome when a concurrent run (usually rotor's own write coming back as
 * a change event: OpenBao's audit device, Key Vault's Event Grid) restarted the consumers
 * named `first` before it: those are already-current here, restarted by the other run.
 */
function restartedFirstByAnother(newVersion: string, own: RolloutReport[], first: string[]): Outcome {
  const o = outcome(newVersion, own);
  const current = first.map((name) => ({
    status: 'already-current' as const,
    cluster: 'alpha',
    kind: 'Deployment',
    namespace: 'app',
    name,
  }));
  return { ...o, workloads: [...o.workloads, ...current] };
}

describe('VerifiedRotation: consumers a concurrent run restarted first', () => {
  it('follows their rollouts and undoes the rotation when one fails', async () => {
    const w = world();
    const s = engine(w, { rollouts: [FAILED] });
    await s.verified.rotate(REF, { reason: 'manual' });

    const final = await settledFinally(s.verified, restartedFirstByAnother('v2', [], ['api']));

    // Read-only: the workload's current generation (the other run's restart) to its end.
    expect(s.followed).toEqual(['alpha/Deployment/api@undefined']);
    expect(final.undo).toMatchObject({
      status: 'restored',
      failed: ['alpha/Deployment/app/api'],
      previousVersion: 'v1',
      restoredVersion: 'v3',
      rerun: 'ev-1-undo',
    });
    expect(final.workloads).toEqual([
      expect.objectContaining({ status: 'already-current', name: 'api', rollout: FOLLOWED_FAILED }),
    ]);
    expect(w.current()).toMatchObject({ version: 'v3', value: 'old' });
    expect(await w.store.list()).toEqual([]);
  });

  it('deletes the record and writes nothing when their rollouts are healthy', async () => {
    const w = world();
    const s = engine(w, { rollouts: [OK] });
    await s.verified.rotate(REF, { reason: 'manual' });

    const final = await settledFinally(s.verified, restartedFirstByAnother('v2', [OK], ['api']));

    expect(s.followed).toEqual(['alpha/Deployment/api@undefined']);
    expect(final.undo).toBeUndefined();
    // The run's own restart counts from its write; the other run's, only from when it was followed.
    expect(final.workloads.map((x) => (x.status === 'restarted' ? x.rollout : x))).toEqual([
      OK,
      expect.objectContaining({ status: 'already-current', rollout: FOLLOWED_OK }),
    ]);
    expect(w.writes).toHaveLength(1); // the rotation only
    expect(await w.store.list()).toEqual([]);
    expect((await s.verified.rotate(REF, { reason: 'manual' })).status).toBe('rotated');
  });

  it('answers at once and names them in the record while it follows them, never a value', async () => {
    const w = world();
    const s = engine(w, { rollouts: ['held'] });
    await s.verified.rotate(REF, { reason: 'manual' });

    const settled = await s.verified.settle(restartedFirstByAnother('v2', [OK], ['api']));

    expect(settled).toMatchObject({
      answer: {
        workloads: [
          { status: 'restarted', name: 'w0', rollout: OK },
          { status: 'already-current', name: 'api', rollout: FOLLOWING },
        ],
      },
    });
    const [stored] = await w.store.list();
    expect(stored?.record).toMatchObject({
      newVersion: 'v2',
      state: 'rolling',
      eventId: 'ev-1',
      source: 'manual',
      workloads: [
        { cluster: 'alpha', kind: 'Deployment', namespace: 'app', name: 'w0', generation: 7 },
        { cluster: 'alpha', kind: 'Deployment', namespace: 'app', name: 'api' },
      ],
    });
    expect(stored?.record.workloads[1]).not.toHaveProperty('generation');
    expect(JSON.stringify(stored)).not.toMatch(/"(old|new)"/);
    expect((await s.verified.rotate(REF, { reason: 'manual' })).status).toBe('skipped');
  });

  it('is taken over by another instance when the one that rotated stops while following them', async () => {
    const w = world();
    const runs = new MemoryIdempotencyStore();
    const first = engine(w, { owner: 'first', rollouts: ['held'] });
    await first.verified.rotate(REF, { reason: 'manual' });
    const settled = await first.verified.settle(restartedFirstByAnother('v2', [], ['api']));
    const claim = await runs.putInProgress('manual:ev-1', new Date(w.time.nowMs + 60_000));
    const answer = 'answer' in settled ? settled.answer : settled;
    await runs.complete(claim, w.time.now(), JSON.stringify(answer));
    const next = engine(w, { owner: 'next', rollouts: [FAILED], runs });

    await next.verified.resume(); // the first instance is still within its deadline
    expect(next.followed).toEqual([]);
    await w.time.advance(FOLLOW_MS + 2_000);

    expect(next.followed).toEqual(['alpha/Deployment/api@undefined']);
    expect(w.current()).toMatchObject({ version: 'v3', value: 'old' });
    expect(w.writes.filter((n) => n.value === 'old')).toHaveLength(1);
    // `rotor status` of the run that rotated tells how the other run's restart ended.
    const recorded = JSON.parse((await runs.get('manual:ev-1'))?.result ?? '{}') as Outcome;
    expect(recorded.workloads).toEqual([
      expect.objectContaining({ status: 'already-current', rollout: FOLLOWED_FAILED }),
    ]);
    expect(recorded.undo).toMatchObject({ status: 'restored', restoredVersion: 'v3' });
  });

  it('names a CronJob’s Job in the record, so the follower follows the Job the other run created', async () => {
    const w = world();
    const s = engine(w, { rollouts: ['held'] });
    await s.verified.rotate(REF, { reason: 'manual' });
    const cron = {
      status: 'already-current' as const,
      cluster: 'alpha',
      kind: 'CronJob',
      namespace: 'app',
      name: 'nightly',
      job: 'nightly-0123456789',
    };

    await s.verified.settle({ ...outcome('v2', []), workloads: [cron] });

    expect((await w.store.list())[0]?.record.workloads).toEqual([
      { cluster: 'alpha', kind: 'CronJob', namespace: 'app', name: 'nightly', job: 'nightly-0123456789' },
    ]);
  });

  it('names them in the record at the answer too, so a take-over follows them beside the run’s own restarts', async () => {
    const w = world();
    const first = engine(w, { owner: 'first' });
    await first.verified.rotate(REF, { reason: 'manual' });
    await first.verified.track(restartedFirstByAnother('v2', [FOLLOWING], ['api']));
    const next = engine(w, { owner: 'next', rollouts: [OK, FAILED] });

    await w.time.advance(FOLLOW_MS + 1);
    await next.verified.resume();

    expect(next.followed).toEqual(['alpha/Deployment/w0@7', 'alpha/Deployment/api@undefined']);
    expect(w.current()).toMatchObject({ version: 'v3', value: 'old' });
  });

  it('through the Runner, as lib/app.ts wires it: answers at once; the run’s record and notification then carry the undo', async () => {
    const w = world();
    const s = engine(w, { rollouts: [FAILED] });
    const api = {
      status: 'already-current' as const,
      cluster: 'alpha',
      kind: 'Deployment',
      namespace: 'app',
      name: 'api',
    };
    const { ports } = fakePorts({ alpha: { derived: [ES], workloads: [api] } });
    const runs = new MemoryIdempotencyStore();
    const notified: Outcome[] = [];
    const runner = new Runner({
      ports: { ...ports, rotate: rotationPort(s.verified) },
      idempotency: runs,
      clock: new ManualClock(),
      telemetry: createTelemetry(testConfig().telemetry, { write: () => undefined }),
      notify: async (o) => {
        notified.push(o);
      },
      settle: (o) => s.verified.settle(o),
      answering: (o) => s.verified.track(o),
      settings: runnerTestSettings(),
    });

    const answered = await runner.rotate(REF, { requestId: 'req-1' });
    await drain();

    expect(answered).toMatchObject({
      rotation: { newVersion: 'v2' },
      workloads: [{ ...api, rollout: FOLLOWING }],
    });
    expect(answered.undo).toBeUndefined();
    const recorded = JSON.parse((await runs.get('manual:req-1'))?.result ?? '{}') as Outcome;
    expect(recorded).toMatchObject({
      workloads: [{ ...api, rollout: FOLLOWED_FAILED }],
      undo: { status: 'restored' },
    });
    expect(notified.map((o) => o.undo?.status)).toEqual([undefined, 'restored']);
    expect(w.current()).toMatchObject({ version: 'v3', value: 'old' });
  });

  it('is not settled by the concurrent run’s healthy rollouts while the run that rotated still follows its own', async () => {
    const w = world();
    const s = engine(w);
    await s.verified.rotate(REF, { reason: 'manual' });
    await s.verified.track(outcome('v2', [FOLLOWING]));

    // The change event of v2, on this instance: no rotation, its own restarts rolled out.
    await s.verified.settle(outcome(undefined, [OK], 'ev-changed'));
    const final = await settledFinally(s.verified, outcome('v2', [FAILED]));

    expect(final.undo).toMatchObject({ status: 'restored', restoredVersion: 'v3' });
    expect(w.current()).toMatchObject({ value: 'old' });
  });

  it('is not settled by the concurrent run’s healthy rollouts on another instance that has seen the record', async () => {
    const w = world();
    const first = engine(w, { owner: 'first' });
    await first.verified.rotate(REF, { reason: 'manual' });
    await first.verified.track(outcome('v2', [FOLLOWING]));
    const other = engine(w, { owner: 'other' });
    await other.verified.resume(); // at start, or a timer run: it reads every record

    // The change event of v2 ran there: no rotation, its own restarts rolled out.
    await other.verified.settle(outcome(undefined, [OK], 'ev-changed'));
    const final = await settledFinally(first.verified, outcome('v2', [FAILED]));

    expect(final.undo).toMatchObject({ status: 'restored', restoredVersion: 'v3' });
    expect(w.current()).toMatchObject({ value: 'old' });
  });
});

describe('VerifiedRotation: consumers the new version did not reach', () => {
  it('is not verified when a cluster failed: it alerts, and a retry of the request finishes the rollout instead of rotating again', async () => {
    const w = world();
    const s = engine(w);
    const clusters = {
      alpha: { derived: [ES], workloads: [restarted('alpha', 'api')] },
      beta: {
        derived: [ES],
        workloads: [restarted('beta', 'web')],
        fail: new TransientError('beta unreachable'),
      },
    };
    const { ports, calls } = fakePorts(clusters);
    const followed: string[] = [];
    const runner = new Runner({
      ports: {
        ...ports,
        rotate: rotationPort(s.verified),
        follow: async (cluster, wl) => {
          followed.push(`${cluster}/${wl.name}`);
          return OK;
        },
      },
      idempotency: new MemoryIdempotencyStore(),
      clock: new ManualClock(),
      telemetry: createTelemetry(testConfig().telemetry, { write: () => undefined }),
      notify: async () => undefined,
      settle: (o) => s.verified.settle(o),
      answering: (o) => s.verified.track(o),
      settings: runnerTestSettings({ followWaitMs: 1_000 }),
    });

    await expect(runner.rotate(REF, { requestId: 'req-1' })).rejects.toThrow(/deliver the event again/);
    expect(s.errors).toEqual([
      expect.objectContaining({ reason: expect.stringContaining('beta unreachable') }),
    ]);
    expect((await w.store.list())[0]?.record).toMatchObject({
      state: 'failed',
      reason: expect.stringContaining('did not reach'),
    });

    // The retry while beta is still down: no second rotation, and the answer says why.
    await expect(runner.rotate(REF, { requestId: 'req-1' })).rejects.toThrow(/beta unreachable/);
    expect(w.versions.map((v) => v.version)).toEqual(['v1', 'v2']);
    expect((await w.store.list())[0]?.record).toMatchObject({ state: 'failed' });
    expect((await w.store.list())[0]?.record).not.toHaveProperty('finishing');

    // beta answers again: the retry refreshes and restarts on v2 in every cluster and follows the rollouts.
    delete (clusters.beta as { fail?: Error }).fail;
    followed.length = 0;
    const finished = await runner.rotate(REF, { requestId: 'req-1' });

    expect(finished.rotation).toMatchObject({ finishing: 'v2' });
    expect(calls.refresh.map((c) => c.cluster).slice(-2)).toEqual(['alpha', 'beta']);
    expect(followed).toEqual(['alpha/api', 'beta/web']);
    expect(w.versions.map((v) => v.version)).toEqual(['v1', 'v2']); // beta's consumers were never skipped a version
    expect(await w.store.list()).toEqual([]);
    expect((await s.verified.rotate(REF, { reason: 'manual' })).status).toBe('rotated');
  });

  it('is not verified when an operator could not sync the new version', async () => {
    const w = world();
    const s = engine(w);
    await s.verified.rotate(REF, { reason: 'manual' });
    const refreshFailed: Outcome = {
      ...outcome('v2', [OK]),
      refreshes: [
        {
          status: 'failed',
          cluster: 'alpha',
          operator: 'eso',
          kind: 'ExternalSecret',
          namespace: 'app',
          name: 'db',
          error: { code: 'sync_failed', message: 'the operator reported 403', retryable: false },
        },
      ],
    };

    await settledFinally(s.verified, refreshFailed);

    expect((await w.store.list())[0]?.record).toMatchObject({
      state: 'failed',
      reason: expect.stringContaining('alpha/ExternalSecret/app/db: the operator reported 403'),
    });
    expect(w.writes).toHaveLength(1); // no undo: no consumer failed on the new version
    expect((await s.verified.rotate(REF, { reason: 'manual' })).status).toBe('finishing');
    expect(w.writes).toHaveLength(1);
  });

  it('is not settled by a later run that again could not reach every consumer', async () => {
    const w = world();
    const s = engine(w);
    await s.verified.rotate(REF, { reason: 'manual' });
    await settledFinally(s.verified, notReachedIn(outcome('v2', [OK])));

    // The change event of v2 or a refresh: alpha rolled out, beta still unreachable.
    await s.verified.settle(notReachedIn(outcome(undefined, [OK], 'ev-changed')));

    expect((await w.store.list())[0]?.record).toMatchObject({ state: 'failed' });
    expect((await s.verified.rotate(REF, { reason: 'manual' })).status).not.toBe('rotated');
  });
});

/** The outcome with the cluster `beta` unreachable: the new version did not reach its consumers. */
function notReachedIn(o: Outcome): Outcome {
  const error = { code: 'unreachable', message: 'beta unreachable', retryable: true };
  return { ...o, status: 'partial', clusterFailures: [{ cluster: 'beta', error }] };
}

/** A retry's run that finishes the rollout of `version` (refresh and restart, no rotation). */
function finishing(version: string, rollouts: RolloutReport[], eventId = 'ev-retry'): Outcome {
  return { ...outcome(undefined, rollouts, eventId), rotation: { finishing: version, detail: 'x' } };
}

describe('VerifiedRotation: a retry finishes a rollout the rotation did not complete', () => {
  /** Rotated to v2, and beta never got it: the record is failed, nothing undone. */
  async function halfRolledOut(s: ReturnType<typeof engine>) {
    await s.verified.rotate(REF, { reason: 'manual' });
    await settledFinally(s.verified, notReachedIn(outcome('v2', [OK])));
  }

  it('does not rotate again: it answers that it finishes the rollout of the new version', async () => {
    const w = world();
    const s = engine(w);
    await halfRolledOut(s);

    const retry = await s.verified.rotate(REF, { reason: 'rotate-requested' });

    expect(retry).toMatchObject({
      status: 'finishing',
      version: 'v2',
      detail: expect.stringContaining('beta unreachable'),
    });
    expect(w.writes).toHaveLength(1);
    expect((await w.store.list())[0]?.record).toMatchObject({ state: 'failed', finishing: true });
  });

  it('settles the rotation when every consumer rolled out, also those another run restarted first', async () => {
    const w = world();
    const s = engine(w, { rollouts: [OK] });
    await halfRolledOut(s);
    await s.verified.rotate(REF, { reason: 'manual' });

    const run = finishing('v2', [OK]);
    run.workloads.push({
      status: 'already-current',
      cluster: 'alpha',
      kind: 'Deployment',
      namespace: 'app',
      name: 'api',
    });
    const final = await settledFinally(s.verified, run);

    expect(s.followed).toEqual(['alpha/Deployment/api@undefined']);
    expect(final.undo).toBeUndefined();
    expect(await w.store.list()).toEqual([]);
    expect(w.writes).toHaveLength(1);
  });

  it('undoes exactly once when a consumer fails on the new version', async () => {
    const w = world();
    const s = engine(w);
    await halfRolledOut(s);
    await s.verified.rotate(REF, { reason: 'manual' });

    const final = await settledFinally(s.verified, finishing('v2', [OK, FAILED]));

    expect(final.undo).toMatchObject({
      status: 'restored',
      failed: ['alpha/Deployment/app/w1'],
      previousVersion: 'v1',
      restoredVersion: 'v3',
    });
    expect(s.reruns).toEqual([{ version: 'v3', eventId: 'ev-retry' }]);
    expect(w.writes.filter((n) => n.value === 'old')).toHaveLength(1);
    expect(await w.store.list()).toEqual([]);
  });

  it('of two retries at once on two instances, one finishes and the other waits; one undo', async () => {
    const w = world();
    await halfRolledOut(engine(w, { owner: 'first' }));
    const a = engine(w, { owner: 'a' });
    const b = engine(w, { owner: 'b' });

    const answers = await Promise.all([
      a.verified.rotate(REF, { reason: 'manual' }),
      b.verified.rotate(REF, { reason: 'manual' }),
    ]);

    expect(answers.map((r) => r.status).sort()).toEqual(['finishing', 'skipped']);
    expect(answers.find((r) => r.status === 'skipped')).toMatchObject({ reason: 'awaiting-rollout' });
    const [finisher, waiter] = answers[0]?.status === 'finishing' ? [a, b] : [b, a];
    // The one that waited sees the same run's outcome (a shared delivery): it decides nothing.
    const late = await settledFinally(waiter.verified, finishing('v2', [FAILED]));
    const final = await settledFinally(finisher.verified, finishing('v2', [FAILED]));

    expect(late.undo).toBeUndefined();
    expect(final.undo).toMatchObject({ status: 'restored' });
    expect(w.writes.filter((n) => n.value === 'old')).toHaveLength(1);
    expect(w.versions).toHaveLength(3);
  });

  it('keeps it failed and says why when the retry still cannot reach every consumer; the next retry finishes it', async () => {
    const w = world();
    const s = engine(w);
    await halfRolledOut(s);
    await s.verified.rotate(REF, { reason: 'manual' });

    await settledFinally(s.verified, notReachedIn(finishing('v2', [OK])));

    const [stored] = await w.store.list();
    expect(stored?.record).toMatchObject({
      state: 'failed',
      reason: expect.stringContaining('beta unreachable'),
    });
    expect(stored?.record).not.toHaveProperty('finishing');
    expect(w.writes).toHaveLength(1);
    expect(await s.verified.rotate(REF, { reason: 'manual' })).toMatchObject({ status: 'finishing' });
  });

  it('a take-over of a run that did not reach every consumer does not settle it as healthy: failed, for a retry to finish', async () => {
    const w = world();
    const first = engine(w, { owner: 'first' });
    await first.verified.rotate(REF, { reason: 'manual' });
    // Answered with alpha's rollout still followed and beta unreachable, then that instance stopped.
    await first.verified.track(notReachedIn(outcome('v2', [FOLLOWING])));
    const next = engine(w, { owner: 'next', rollouts: [OK] });

    await w.time.advance(FOLLOW_MS + 1);
    await next.verified.resume();

    expect(next.followed).toEqual(['alpha/Deployment/w0@7']);
    expect((await w.store.list())[0]?.record).toMatchObject({
      state: 'failed',
      reason: expect.stringContaining('beta unreachable'),
    });
    expect(w.writes).toHaveLength(1);
    expect(await next.verified.rotate(REF, { reason: 'manual' })).toMatchObject({ status: 'finishing' });
  });

  it('a retry while another finishes waits; once that one’s deadline passed (it stopped) it finishes itself', async () => {
    const w = world();
    await halfRolledOut(engine(w, { owner: 'first' }));
    await engine(w, { owner: 'stopped' }).verified.rotate(REF, { reason: 'manual' });
    const next = engine(w, { owner: 'next' });

    expect(await next.verified.rotate(REF, { reason: 'manual' })).toMatchObject({
      status: 'skipped',
      reason: 'awaiting-rollout',
      detail: expect.stringContaining('finishing'),
    });
    await w.time.advance(ROTATION_MS + 1);
    expect(await next.verified.rotate(REF, { reason: 'manual' })).toMatchObject({ status: 'finishing' });
    expect(w.writes).toHaveLength(1);
  });
});
