import { describe, expect, it } from 'vitest';
import { pausePeriodMs } from '../../../../lib/kube/restart/kinds/deployment.js';

const withPeriod = (value?: string) => {
  const annotations: Record<string, string> = {};
  if (value !== undefined) annotations['deployment.reloader.stakater.com/pause-period'] = value;
  return { metadata: { annotations } };
};

describe('pause-period annotation', () => {
  it('reads Go durations as Reloader does', () => {
    expect(pausePeriodMs(withPeriod('5m'))).toBe(300_000);
    expect(pausePeriodMs(withPeriod('1h30m'))).toBe(5_400_000);
  });

  it('no pause for a missing, zero or invalid period', () => {
    expect(pausePeriodMs(withPeriod())).toBeUndefined();
    expect(pausePeriodMs(withPeriod('0'))).toBeUndefined();
    expect(pausePeriodMs(withPeriod('five minutes'))).toBeUndefined();
  });
});
