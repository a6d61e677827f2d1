import { describe, expect, it } from 'vitest';
import { notify } from '../../../lib/notify/notifier.js';
import type { Outcome } from '../../../lib/outcome.js';
import { Redacted } from '../../../lib/redacted.js';
import { createLogger } from '../../../lib/telemetry.js';

const base: Outcome = {
  eventId: 'e1',
  ref: 'azure-keyvault:kv/db',
  kind: 'changed',
  source: 'eventgrid',
  status: 'completed',
  refreshes: [],
  workloads: [
    {
      status: 'restarted',
      cluster: 'aks',
      kind: 'Deployment',
      namespace: 'shop',
      name: 'web',
      hashes: ['abc'],
    },
  ],
  clusterFailures: [],
  timeline: [],
  dryRun: false,
};

/** A rollout that never became available, and the undo that followed it. */
const stuckRollout = {
  status: 'rollout-failed',
  ms: 5_000,
  reason: 'ProgressDeadlineExceeded',
  message: 'stuck',
} as const;
const restoredAfterFailure: NonNullable<Outcome['undo']> = {
  status: 'restored',
  failed: ['aks/Deployment/shop/web'],
  previousVersion: 'v1',
  restoredVersion: 'v3',
  rerun: 'e1-undo',
};

function recorder() {
  const sent: Array<{ url: string; body: unknown }> = [];
  return { sent, send: async (url: string, body: unknown) => void sent.push({ url, body }) };
}

describe('notifications', () => {
  it('a restart is announced to every target in its own format', async () => {
    const r = recorder();
    const targets = [
      { kind: 'slack' as const, url: new Redacted('http://127.0.0.1:1/slack'), on: ['restart' as const] },
      { kind: 'teams' as const, url: new Redacted('http://127.0.0.1:1/teams'), on: ['restart' as const] },
      {
        kind: 'webhook' as const,
        url: new Redacted('http://127.0.0.1:1/hook'),
        on: ['restart' as const, 'failure' as const],
      },
    ];

    await notify(targets, base, createLogger('error'), r.send);

    expect(r.sent.map((s) => s.url)).toEqual(targets.map((t) => t.url.reveal()));
    expect(JSON.stringify(r.sent[0]?.body)).toContain('restarted Deployment shop/web in aks');
    expect(JSON.stringify(r.sent[1]?.body)).toContain('AdaptiveCard');
    expect(r.sent[2]?.body).toMatchObject({ failed: false, restarted: 1 });
  });

  it('targets that only want failures hear nothing about a clean restart, and everything about a failure', async () => {
    const r = recorder();
    const targets = [
      { kind: 'webhook' as const, url: new Redacted('http://127.0.0.1:1/hook'), on: ['failure' as const] },
    ];

    await notify(targets, base, createLogger('error'), r.send);
    await notify(
      targets,
      {
        ...base,
        status: 'partial',
        workloads: [
          {
            status: 'failed',
            cluster: 'aks',
            kind: 'Deployment',
            namespace: 'shop',
            name: 'api',
            error: { code: 'forbidden', message: 'forbidden: patch deployments', retryable: false },
          },
        ],
      },
      createLogger('error'),
      r.send,
    );

    expect(r.sent).toHaveLength(1);
    expect(JSON.stringify(r.sent[0]?.body)).toContain(
      'failed Deployment shop/api in aks [forbidden]: forbidden: patch deployments',
    );
  });

  it('a webhook receives every failure with its code, so it can route them without reading prose', async () => {
    const r = recorder();
    const targets = [
      { kind: 'webhook' as const, url: new Redacted('http://127.0.0.1:1/hook'), on: ['failure' as const] },
    ];

    await notify(
      targets,
      {
        ...base,
        status: 'partial',
        refreshes: [
          {
            status: 'failed',
            cluster: 'aks',
            operator: 'eso',
            kind: 'ExternalSecret',
            namespace: 'shop',
            name: 'db',
            error: { code: 'sync_failed', message: 'the operator reported UpdateFailed', retryable: false },
          },
        ],
        clusterFailures: [
          { cluster: 'gke', error: { code: 'timeout', message: 'did not finish', retryable: true } },
        ],
      },
      createLogger('error'),
      r.send,
    );

    expect(r.sent[0]?.body).toMatchObject({
      failed: true,
      failures: [
        { what: 'refresh of ExternalSecret shop/db in aks', code: 'sync_failed', retryable: false },
        { what: 'cluster gke', code: 'timeout', retryable: true },
      ],
    });
  });

  it('a notification endpoint that fails never fails the run', async () => {
    const lines: string[] = [];
    await expect(
      notify(
        [{ kind: 'slack', url: new Redacted('http://127.0.0.1:1/x'), on: ['restart'] }],
        base,
        createLogger('warn', (l) => lines.push(l)),
        async () => {
          throw new Error('503');
        },
      ),
    ).resolves.toBeUndefined();
    expect(lines.join('\n')).toContain('notification failed');
  });

  it('a rotation undone after a failed rollout says so, with the versions and the run that restarts again', async () => {
    const r = recorder();
    const targets = [
      { kind: 'webhook' as const, url: new Redacted('http://127.0.0.1:1/hook'), on: ['failure' as const] },
    ];
    const undone: Outcome = {
      ...base,
      kind: 'rotate-requested',
      rotation: { newVersion: 'v2' },
      workloads: [
        {
          ...(base.workloads[0] as Extract<Outcome['workloads'][number], { status: 'restarted' }>),
          rollout: stuckRollout,
        },
      ],
      undo: restoredAfterFailure,
    };

    await notify(targets, undone, createLogger('error'), r.send);

    expect(r.sent[0]?.body).toMatchObject({ failed: true });
    expect(JSON.stringify(r.sent[0]?.body)).toContain(
      'undone: version v1 restored as v3 after failed rollouts (aks/Deployment/shop/web); refresh and restart again as e1-undo',
    );
  });
  it('a rotation undone after the failed rollout of a workload another run restarted first is a failure too', async () => {
    const r = recorder();
    const targets = [
      { kind: 'webhook' as const, url: new Redacted('http://127.0.0.1:1/hook'), on: ['failure' as const] },
    ];
    const undone: Outcome = {
      ...base,
      kind: 'rotate-requested',
      rotation: { newVersion: 'v2' },
      workloads: [
        {
          status: 'already-current',
          cluster: 'aks',
          kind: 'Deployment',
          namespace: 'shop',
          name: 'web',
          rollout: { ...stuckRollout, since: 'followed' },
        },
      ],
      undo: restoredAfterFailure,
    };

    await notify(targets, undone, createLogger('error'), r.send);

    expect(r.sent).toHaveLength(1);
    expect(r.sent[0]?.body).toMatchObject({ failed: true });
    expect(JSON.stringify(r.sent[0]?.body)).toContain(
      'Deployment shop/web in aks, restarted by another run: rollout failed (followed for 5.0 s; started earlier): ProgressDeadlineExceeded: stuck',
    );
  });
});
