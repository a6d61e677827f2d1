import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../../../lib/kube/api/objects.js';
import {
  esVerdict,
  KNOWN_FAILURE_GRACE_MS,
  knownFailure,
} from '../../../../lib/kube/operators/eso-verdict.js';
import {
  completionThreshold,
  isStatusConflict,
  resolveVsoRef,
  vssVerdict,
} from '../../../../lib/kube/operators/vso.js';

const since = new Date('2030-01-01T10:00:05Z');

function es(status: Record<string, unknown>): KubeObject {
  return { metadata: { name: 'app', generation: 1 }, status };
}

const ready = (s: string, reason: string, at: string, message = '') => ({
  type: 'Ready',
  status: s,
  reason,
  message,
  lastTransitionTime: at,
});

describe('ExternalSecret completion', () => {
  const before = es({
    syncedResourceVersion: '1-aaa',
    refreshTime: '2030-01-01T09:00:00Z',
    conditions: [ready('True', 'SecretSynced', '2030-01-01T08:00:00Z')],
  });
  const verdict = esVerdict(before, since);

  it('is done when syncedResourceVersion moved, Ready is True and refreshTime is at or after the force', () => {
    const after = es({
      syncedResourceVersion: '1-bbb',
      refreshTime: '2030-01-01T10:00:05Z',
      conditions: [ready('True', 'SecretSynced', '2030-01-01T08:00:00Z')],
    });
    expect(verdict(after)).toEqual({ state: 'done' });
  });

  it('is pending while only the unforced status is visible (same version, or a refresh before the force)', () => {
    expect(verdict(before)).toEqual({ state: 'pending' });
    const earlier = es({
      syncedResourceVersion: '1-bbb',
      refreshTime: '2030-01-01T10:00:04Z',
      conditions: [ready('True', 'SecretSynced', 'x')],
    });
    expect(verdict(earlier)).toEqual({ state: 'pending' });
  });

  it('fails with the condition message when Ready turns False with SecretSyncedError', () => {
    const after = es({
      syncedResourceVersion: '1-aaa',
      conditions: [
        ready(
          'False',
          'SecretSyncedError',
          '2030-01-01T10:00:06Z',
          'could not get secret data from provider',
        ),
      ],
    });
    expect(verdict(after)).toEqual({
      state: 'failed',
      error: 'Ready=False SecretSyncedError: could not get secret data from provider',
    });
  });

  it('does not blame the force for a failure that predates it', () => {
    const failing = es({ conditions: [ready('False', 'SecretSyncedError', '2030-01-01T09:00:00Z')] });
    expect(esVerdict(failing, since)(failing)).toEqual({ state: 'pending' });
  });

  it('knows the failure an ExternalSecret was in before the force, to report it when ESO stays silent', () => {
    const failing = es({
      conditions: [
        ready(
          'False',
          'SecretSyncedError',
          '2030-01-01T09:00:00Z',
          'could not get secret data from provider',
        ),
      ],
    });
    expect(knownFailure(failing)).toEqual({
      afterMs: KNOWN_FAILURE_GRACE_MS,
      error: 'Ready=False SecretSyncedError: could not get secret data from provider',
    });
    expect(knownFailure(before)).toBeUndefined();
  });
});

describe('VaultStaticSecret completion', () => {
  const verdict = vssVerdict(since);
  const vss = (conditions: unknown[], lastGeneration = 3): KubeObject => ({
    metadata: { name: 'app', generation: 3 },
    status: { lastGeneration, conditions },
  });

  it('is done when Ready is True with lastTransitionTime at or after the force, for this generation', () => {
    expect(verdict(vss([ready('True', 'Healthy', '2030-01-01T10:00:05Z')]))).toEqual({ state: 'done' });
  });

  it('is pending for a Ready from before the force, or for an older generation', () => {
    expect(verdict(vss([ready('True', 'Healthy', '2030-01-01T10:00:04Z')]))).toEqual({ state: 'pending' });
    expect(verdict(vss([ready('True', 'Healthy', '2030-01-01T10:00:09Z')], 2))).toEqual({ state: 'pending' });
  });

  it('falls back to Healthy on VSO releases without Ready', () => {
    expect(verdict(vss([{ ...ready('True', 'Healthy', '2030-01-01T10:00:06Z'), type: 'Healthy' }]))).toEqual({
      state: 'done',
    });
  });

  it('fails with VSO reason and message when Ready turns False after the force', () => {
    expect(
      verdict(
        vss([
          ready(
            'False',
            'VaultClientError',
            '2030-01-01T10:00:06Z',
            'Failed to read Vault secret: permission denied',
          ),
        ]),
      ),
    ).toEqual({
      state: 'failed',
      error: 'Ready=False VaultClientError: Failed to read Vault secret: permission denied',
    });
  });

  it("reports VSO's error from SecretSynced's message: the real Ready says only Ready: VaultStaticSecretReady", () => {
    const failed = verdict(
      vss([
        ready('False', 'Ready', '2030-01-01T10:00:06Z', 'VaultStaticSecretReady'),
        {
          type: 'SecretSynced',
          status: 'False',
          reason: 'Synced',
          message:
            'Failed to sync the secret, horizon=5s, err=empty response from Vault, path="secret/data/app"',
          lastTransitionTime: '2030-01-01T09:00:00Z',
        },
      ]),
    );
    expect(failed).toEqual({
      state: 'failed',
      error:
        'SecretSynced=False Synced: Failed to sync the secret, horizon=5s, err=empty response from Vault, path="secret/data/app"',
    });
  });

  it('does not take a status update conflict (StatusUpdateError) for a failed sync', () => {
    const at = new Date();
    expect(
      isStatusConflict({
        reason: 'StatusUpdateError',
        message:
          'Operation cannot be fulfilled on vaultstaticsecrets.secrets.hashicorp.com "app": the object has been modified; please apply your changes to the latest version and try again',
        at,
      }),
    ).toBe(true);
    expect(isStatusConflict({ reason: 'StatusUpdateError', message: 'connection refused', at })).toBe(false);
    expect(
      isStatusConflict({ reason: 'VaultClientError', message: 'the object has been modified', at }),
    ).toBe(false);
  });

  it('in the second of the previous reconcile, is done only when the status changed after the patch', () => {
    const next = new Date('2030-01-01T10:00:06Z');
    const patched = {
      ...vss([ready('True', 'Healthy', '2030-01-01T10:00:05Z')]),
      status: {
        lastGeneration: 3,
        secretMAC: 'old',
        conditions: [ready('True', 'Healthy', '2030-01-01T10:00:05Z')],
      },
    };
    const sameSecond = vssVerdict(since, next, patched);
    expect(sameSecond(patched)).toEqual({ state: 'pending' });
    expect(sameSecond({ ...patched, status: { ...patched.status, secretMAC: 'new' } })).toEqual({
      state: 'done',
    });
    expect(sameSecond(vss([ready('True', 'Healthy', '2030-01-01T10:00:06Z')]))).toEqual({ state: 'done' });
  });

  it('resolves VaultAuth/VaultConnection references like VSO', () => {
    expect(resolveVsoRef(undefined, 'app', 'vso')).toBe('vso/default');
    expect(resolveVsoRef('auth', 'app', 'vso')).toBe('app/auth');
    expect(resolveVsoRef('shared/auth', 'app', 'vso')).toBe('shared/auth');
  });
});

describe('VaultStaticSecret completion threshold (whole-second condition times)', () => {
  it('is the force time when the last reconcile was in an earlier second', () => {
    expect(completionThreshold('2030-01-01T10:00:04Z', since)).toEqual(since);
    expect(completionThreshold(undefined, since)).toEqual(since);
  });

  it('moves to the next second when the last reconcile fell in the second of the force', () => {
    expect(completionThreshold('2030-01-01T10:00:05Z', since)).toEqual(new Date('2030-01-01T10:00:06Z'));
  });
});
