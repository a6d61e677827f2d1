import { describe, expect, it } from 'vitest';
import { formatStatus } from '../../../lib/cli/status.js';
import { restarted } from '../support/fake-ports.js';
import { IN_PROGRESS_E1, outcomeWith, refreshedOf } from '../support/outcome.js';

describe('rotor status in words', () => {
  it('a run in progress: the steps finished so far, per derived object and workload', () => {
    const text = formatStatus([
      {
        ...IN_PROGRESS_E1,
        progress: {
          timeline: [
            { step: 'received', atMs: 0 },
            { step: 'resolved', atMs: 35, detail: 'alpha: 1 derived' },
          ],
          refreshes: [refreshedOf('alpha', 'db')],
          workloads: [restarted('alpha', 'api')],
          omitted: { refreshes: 0, workloads: 3 },
        },
      },
    ]);

    const lines = text.split('\n');
    expect(lines[0]).toMatch(
      /^event e-1 \(eventgrid\): in progress, claimed by worker-7:4242 at 2026-11-29T10:00:00.000Z;/,
    );
    expect(lines.slice(1)).toEqual([
      '  finished so far:',
      '         0 ms  event received',
      '        35 ms  found what reads the secret  alpha: 1 object reads this secret (ExternalSecret, VaultStaticSecret or SecretProviderClass)',
      '    refresh alpha ExternalSecret app/db: synced now, Secret updated',
      '    workload alpha Deployment app/api: restarted',
      '    (0 refreshes and 3 workloads more)',
    ]);
  });

  it('a run in progress that has written no steps yet says only that it is in progress', () => {
    expect(formatStatus([IN_PROGRESS_E1]).split('\n')).toHaveLength(1);
  });
  it('a workload another run restarted first: the rollout a verified rotation followed for it', () => {
    const text = formatStatus([
      {
        eventId: 'e-1',
        source: 'eventgrid',
        state: 'completed',
        rollouts: 'ended',
        outcome: outcomeWith({
          workloads: [
            {
              status: 'already-current',
              cluster: 'alpha',
              kind: 'Deployment',
              namespace: 'app',
              name: 'api',
              rollout: { status: 'rolled-out', ms: 1_200 },
            },
          ],
        }),
      },
    ]);

    expect(text).toContain('workload alpha Deployment app/api: already-current, rolled out in 1.2 s');
  });
});
