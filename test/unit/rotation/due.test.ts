import { describe, expect, it } from 'vitest';
import { dueReason, expiryOf } from '../../../lib/rotation/due.js';
import type { RotationPolicy } from '../../../lib/rotation/policy.js';

const DAY = 86_400_000;
const NOW = new Date('2025-06-01T12:00:00Z');
const WINDOW_DAYS = 30;
const ago = (days: number) => new Date(NOW.getTime() - days * DAY);
const ahead = (days: number) => new Date(NOW.getTime() + days * DAY);

const policy = (extra: Partial<RotationPolicy> = {}): RotationPolicy => ({
  generator: { kind: 'bytes', length: 32, encoding: 'base64', field: 'value' },
  validityDays: 60,
  ...extra,
});

describe('dueReason', () => {
  it('is due as expired once the expiry has passed', () => {
    expect(dueReason(policy(), { expiresOn: ago(1), createdOn: ago(61) }, NOW, WINDOW_DAYS)).toBe('expired');
  });

  it('is due as near-expiry when the expiry falls within the window', () => {
    expect(dueReason(policy(), { expiresOn: ahead(29), createdOn: ago(31) }, NOW, WINDOW_DAYS)).toBe(
      'near-expiry',
    );
  });

  it('is not due while the expiry is beyond the window and no period or schedule applies', () => {
    expect(
      dueReason(policy(), { expiresOn: ahead(31), createdOn: ago(29) }, NOW, WINDOW_DAYS),
    ).toBeUndefined();
  });

  it('never finds a version it has just written due, even when the window is longer than the validity', () => {
    const shortLived = policy({ validityDays: 7 });

    const reason = dueReason(shortLived, { expiresOn: ahead(7), createdOn: NOW }, NOW, WINDOW_DAYS);

    expect(reason).toBeUndefined();
  });

  it('derives the expiry of a store without expiry (KV v2) from creation + validity', () => {
    expect(expiryOf(policy(), { createdOn: ago(10) })).toEqual(ahead(50));
    expect(dueReason(policy(), { createdOn: ago(31) }, NOW, WINDOW_DAYS)).toBe('near-expiry');
    expect(dueReason(policy(), { createdOn: ago(29) }, NOW, WINDOW_DAYS)).toBeUndefined();
  });

  it('is due by period when the last rotation is older than rotor-period-days', () => {
    const weekly = policy({ periodDays: 7 });

    expect(dueReason(weekly, { expiresOn: ahead(50), createdOn: ago(8) }, NOW, WINDOW_DAYS)).toBe('period');
    expect(dueReason(weekly, { expiresOn: ahead(50), createdOn: ago(6) }, NOW, WINDOW_DAYS)).toBeUndefined();
  });

  it('is due by schedule when an occurrence has passed since the last rotation', () => {
    // 2025-06-01 is a Sunday; the Monday 03:00 occurrence after 2025-05-25 is 2025-05-26.
    const mondays = policy({ schedule: '0 3 * * 1' });

    expect(dueReason(mondays, { expiresOn: ahead(50), createdOn: ago(7) }, NOW, WINDOW_DAYS)).toBe(
      'schedule',
    );
    expect(dueReason(mondays, { expiresOn: ahead(50), createdOn: ago(5) }, NOW, WINDOW_DAYS)).toBeUndefined();
  });

  it('cannot judge period or schedule without a last rotation time', () => {
    expect(dueReason(policy({ periodDays: 1, schedule: '* * * * *' }), {}, NOW, WINDOW_DAYS)).toBeUndefined();
  });
});
