import { describe, expect, it } from 'vitest';
import { parseGoDuration } from '../../../lib/kube/duration.js';

describe('parseGoDuration (Go time.ParseDuration, as ESO refreshInterval / VSO refreshAfter)', () => {
  it.each([
    ['1h0m0s', 3_600_000],
    ['1h', 3_600_000],
    ['15m', 900_000],
    ['2m30s', 150_000],
    ['1.5h', 5_400_000],
    ['300ms', 300],
    ['0', 0],
    ['0s', 0],
    ['-1s', -1_000],
  ])('reads %s as %d ms', (text, ms) => {
    expect(parseGoDuration(text)).toBe(ms);
  });

  it.each(['', 'h', '1', '1d', '1h30', 'soon', '1 h'])('rejects %j, which Go would not parse', (text) => {
    expect(parseGoDuration(text)).toBeUndefined();
  });
});
