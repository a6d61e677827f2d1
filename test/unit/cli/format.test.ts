import { describe, expect, it } from 'vitest';
import { formatOutcome } from '../../../lib/cli/format.js';
import type { Outcome } from '../../../lib/outcome.js';

const rotated: Outcome = {
  eventId: 'e1',
  ref: 'azure-keyvault:kv/db',
  kind: 'rotate-requested',
  source: 'manual',
  status: 'completed',
  rotation: { newVersion: 'v2' },
  refreshes: [],
  workloads: [
    {
      status: 'restarted',
      cluster: 'aks',
      kind: 'Deployment',
      namespace: 'shop',
      name: 'web',
      hashes: [],
      rollout: { status: 'rollout-failed', ms: 4_200, reason: 'ProgressDeadlineExceeded', message: 'stuck' },
    },
  ],
  clusterFailures: [],
  timeline: [],
  dryRun: false,
};

describe('formatOutcome (rotor rotate, rotor status)', () => {
  it('shows how each rollout ended and what was undone after a failed one', () => {
    const text = formatOutcome({
      ...rotated,
      undo: { status: 'not-restored', failed: ['aks/Deployment/shop/web'], reason: 'rotation.undo is off' },
    });

    expect(text.split('\n').slice(-2)).toEqual([
      '  workload aks Deployment shop/web: restarted, rollout failed after 4.2 s: ProgressDeadlineExceeded: stuck',
      '  not undone after failed rollouts (aks/Deployment/shop/web): rotation.undo is off',
    ]);
  });
});
