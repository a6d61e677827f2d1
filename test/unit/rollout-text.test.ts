import { describe, expect, it } from 'vitest';
import { rolloutText } from '../../lib/rollout-text.js';

describe('rolloutText: a workload’s follow-up in words', () => {
  it('tells a rollout rotor followed from its restart by how long it took', () => {
    expect(rolloutText({ status: 'rolled-out', ms: 1_200 })).toBe('rolled out in 1.2 s');
    expect(
      rolloutText({ status: 'rollout-failed', ms: 10_400, reason: 'ProgressDeadlineExceeded', message: 'm' }),
    ).toBe('rollout failed after 10.4 s: ProgressDeadlineExceeded: m');
  });

  it('tells a rollout rotor did not start (another run’s, or taken over) only by how long it followed it', () => {
    expect(rolloutText({ status: 'rolled-out', ms: 300, since: 'followed' })).toBe(
      'rolled out (followed for 0.3 s; started earlier)',
    );
    expect(
      rolloutText({
        status: 'rollout-failed',
        ms: 4_000,
        since: 'followed',
        reason: 'Timeout',
        message: 'm',
      }),
    ).toBe('rollout failed (followed for 4.0 s; started earlier): Timeout: m');
  });
});
