import { describe, expect, it } from 'vitest';
import { matchesPattern } from '../../lib/name-pattern.js';

describe('configuration name patterns', () => {
  it.each([
    ['app_blue', 'app_blue', true],
    ['app_blue', 'app_blue2', false],
    ['app_*', 'app_blue', true],
    ['app_*', 'xapp_blue', false],
    ['app_*', 'app_', true],
    ['secret/app/*', 'secret/app/db', true],
    ['secret/app/*', 'secret/app/x/db', false],
    ['secret/app/**', 'secret/app/x/db', true],
    ['a.b', 'aXb', false],
    ['(x|y)', 'x', false],
    ['^admin$', 'admin', false],
  ])('%s against %s: %s', (pattern, value, expected) => {
    expect(matchesPattern(pattern, value)).toBe(expected);
  });
});
