import { describe, expect, it } from 'vitest';
import { eventBody } from '../../../lib/kube/event-recorder.js';
import { eventsOf, type Story } from '../../../lib/kube/event-story.js';
import type { RefreshResult, WorkloadResult } from '../../../lib/outcome.js';

const story: Story = { eventId: 'ev-1', ref: 'azure-keyvault:kv/db', version: 'v7' };
const refreshed: RefreshResult = {
  status: 'refreshed',
  cluster: 'alpha',
  operator: 'eso',
  kind: 'ExternalSecret',
  namespace: 'app',
  name: 'db',
  targetSecret: 'db-creds',
  secretChanged: true,
  ms: 81,
};
const web: Extract<WorkloadResult, { status: 'restarted' }> = {
  status: 'restarted',
  cluster: 'alpha',
  kind: 'Deployment',
  namespace: 'app',
  name: 'web',
  hashes: ['0123'],
};
const told = (s: Partial<Story>) =>
  eventsOf({ ...story, ...s }).map((e) => ({
    on: `${e.subject.gvr.kind} ${e.subject.namespace}/${e.subject.name}`,
    ...e.event,
  }));

describe('eventsOf: what rotor tells each object it touched', () => {
  it('tells the ExternalSecret its forced refresh synced, with the secret, the version and the event id', () => {
    expect(told({ refreshes: [refreshed] })).toEqual([
      {
        on: 'ExternalSecret app/db',
        type: 'Normal',
        reason: 'Refreshed',
        message:
          'rotor forced a refresh for azure-keyvault:kv/db version v7 (rotor event ev-1): synced in 81 ms; Secret db-creds has new data',
      },
    ]);
  });

  it("puts the operator's reason in a Warning when the refresh failed, and the fix when the force would be ignored", () => {
    const events = told({
      refreshes: [
        {
          ...refreshed,
          status: 'failed',
          kind: 'VaultStaticSecret',
          error: { code: 'sync_failed', message: 'path="kv/data/db": permission denied', retryable: false },
        },
        {
          ...refreshed,
          status: 'not-forceable',
          reason: 'refreshInterval 0',
          fix: 'set refreshPolicy: OnChange',
        },
      ],
    });

    expect(events.map((e) => `${e.on} ${e.type} ${e.reason}`)).toEqual([
      'VaultStaticSecret app/db Warning RefreshFailed',
      'ExternalSecret app/db Warning RefreshIgnored',
    ]);
    expect(events[0]?.message).toMatch(/\(rotor event ev-1\): path="kv\/data\/db": permission denied$/);
    expect(events[1]?.message).toContain('refreshInterval 0; set refreshPolicy: OnChange');
  });

  it('tells the workload it was restarted, then how its rollout ended', () => {
    expect(told({ workloads: [web] }).map((e) => `${e.type} ${e.reason}: ${e.message}`)).toEqual([
      'Normal Restarted: rotor restarted it for azure-keyvault:kv/db version v7 (rotor event ev-1)',
    ]);
    expect(
      told({ workloads: [{ ...web, rollout: { status: 'rolled-out', ms: 1_234 } }] }).map((e) => e.message),
    ).toEqual([
      "rolled out in 1.2 s after rotor's restart for azure-keyvault:kv/db version v7 (rotor event ev-1)",
    ]);
    const failed = told({
      workloads: [
        {
          ...web,
          rollout: {
            status: 'rollout-failed',
            ms: 10_400,
            reason: 'ProgressDeadlineExceeded',
            message: 'ReplicaSet "web-7d" has timed out progressing.',
          },
        },
      ],
    });
    expect(failed).toEqual([
      expect.objectContaining({
        type: 'Warning',
        reason: 'RolloutFailed',
        message: expect.stringMatching(
          /^rollout failed after 10\.4 s \(ProgressDeadlineExceeded: ReplicaSet/,
        ),
      }),
    ]);
  });

  it('says nothing for what rotor did not change or could not follow, and names no version it does not know', () => {
    const quiet = told({
      workloads: [
        { ...web, status: 'already-current' } as WorkloadResult,
        { ...web, status: 'skipped', reason: 'excluded' } as WorkloadResult,
        { ...web, rollout: { status: 'not-followed', reason: 'paused' } },
        { ...web, rollout: { status: 'following' } },
      ],
      refreshes: [{ ...refreshed, status: 'restart-only', reason: 'CSI' } as RefreshResult],
    });
    expect(quiet).toEqual([]);
    const { version: _v, ...noVersion } = story;
    expect(eventsOf({ ...noVersion, workloads: [web] })[0]?.event.message).toBe(
      'rotor restarted it for azure-keyvault:kv/db (rotor event ev-1)',
    );
  });

  it('tells a RestartFailed Warning with the error', () => {
    const [e] = told({
      workloads: [
        {
          ...web,
          status: 'failed',
          error: { code: 'forbidden', message: 'forbidden: patch deployments', retryable: false },
        } as WorkloadResult,
      ],
    });
    expect(e).toMatchObject({ type: 'Warning', reason: 'RestartFailed' });
    expect(e?.message).toMatch(/: forbidden: patch deployments$/);
  });
});

describe('eventBody: the core/v1 Event kubectl describe finds', () => {
  const at = { uid: 'uid-1', now: new Date('2026-11-29T12:00:00Z'), instance: 'host-1' };

  it('names the object by apiVersion, kind, namespace, name and uid, in its namespace', () => {
    const [e] = eventsOf({ ...story, workloads: [web] });
    const body = eventBody(e!.subject, e!.event, at);

    expect(body.metadata).toEqual({ generateName: 'web.', namespace: 'app' });
    expect(body.involvedObject).toEqual({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      namespace: 'app',
      name: 'web',
      uid: 'uid-1',
    });
    expect(body).toMatchObject({ source: { component: 'rotor' }, reportingComponent: 'rotor', count: 1 });
  });

  it('puts Events about a cluster-scoped object in default, and cuts messages the API server would refuse', () => {
    const [e] = eventsOf({
      ...story,
      refreshes: [{ ...refreshed, kind: 'ClusterExternalSecret', namespace: '' }],
    });
    const body = eventBody(e!.subject, { ...e!.event, message: 'x'.repeat(5_000) }, at);

    expect(body.metadata.namespace).toBe('default');
    expect(body.involvedObject.namespace).toBeUndefined();
    expect(body.message).toHaveLength(1024);
  });
});
