import { describe, expect, it } from 'vitest';
import type { Outcome } from '../../../lib/outcome.js';
import { eventLine, rolloutLines } from '../../sandbox/event-line.js';

describe('npm run sandbox: one line per handled event', () => {
  it('names the source, the secret, the status, event->patch and the workloads restarted', () => {
    const outcome: Outcome = {
      eventId: 'e1',
      ref: 'azure-keyvault:rotor-test/demo-db-password',
      kind: 'changed',
      source: 'eventgrid',
      status: 'completed',
      refreshes: [],
      workloads: [
        {
          status: 'restarted',
          cluster: 'alpha',
          kind: 'Deployment',
          namespace: 'demo',
          name: 'web',
          hashes: [],
        },
        { status: 'already-current', cluster: 'beta', kind: 'Deployment', namespace: 'demo', name: 'web' },
      ],
      clusterFailures: [],
      timeline: [
        { step: 'received', atMs: 0 },
        { step: 'workloads-patched', atMs: 312, detail: 'alpha: 1' },
        { step: 'done', atMs: 315 },
      ],
      dryRun: false,
    };

    const line = eventLine(outcome, new Date('2026-11-29T14:25:56Z'));

    expect(line).toBe(
      '14:25:56  eventgrid    azure-keyvault:rotor-test/demo-db-password  completed;  event->patch 312 ms;  restarted 1 (alpha/demo/web)',
    );
  });

  it('prints "rolled out in N s" per workload once its rollout ended, nothing while it is followed', () => {
    const base = { cluster: 'alpha', kind: 'Deployment', namespace: 'demo', hashes: [] } as const;
    const outcome = {
      workloads: [
        { ...base, status: 'restarted', name: 'web', rollout: { status: 'rolled-out', ms: 1_240 } },
        {
          ...base,
          status: 'restarted',
          name: 'api',
          rollout: {
            status: 'rollout-failed',
            ms: 10_400,
            reason: 'ProgressDeadlineExceeded',
            message: 'timed out',
          },
        },
        { ...base, status: 'restarted', name: 'worker', rollout: { status: 'following' } },
      ],
    } as unknown as Outcome;

    expect(rolloutLines(outcome)).toEqual([
      '    alpha/Deployment/demo/web: rolled out in 1.2 s',
      '    alpha/Deployment/demo/api: rollout failed after 10.4 s: ProgressDeadlineExceeded: timed out',
    ]);
  });
});
