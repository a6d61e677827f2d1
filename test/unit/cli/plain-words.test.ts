import { describe, expect, it } from 'vitest';
import { refreshInWords, stepInWords } from '../../../lib/cli/plain-words.js';

describe('outcomes in plain words', () => {
  it('says what restart-only means instead of the status name', () => {
    const words = refreshInWords({
      status: 'restart-only',
      cluster: 'alpha',
      operator: 'csi',
      kind: 'SecretProviderClass',
      namespace: 'demo',
      name: 'tls',
      reason: 'csi',
    });

    expect(words).toBe('the CSI driver cannot be forced; restarting the pods is the refresh');
  });

  it('spells out "2 derived" and a bare restart count', () => {
    expect(stepInWords('resolved', 'alpha: 2 derived')).toMatch(
      /^found what reads the secret\s+alpha: 2 objects read this secret/,
    );
    expect(stepInWords('workloads-patched', 'beta: 1')).toMatch(/workloads restarted\s+beta: 1 restarted$/);
    expect(stepInWords('resolved', 'alpha: 2 derived')).not.toContain('derived');
  });
});
