import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../../lib/errors.js';
import { parseLabelSelector } from '../../../../lib/kube/restart/label-selector.js';

describe('parseLabelSelector', () => {
  const labels = { team: 'shop', env: 'prod', reloader: 'enabled' };
  it.each([
    ['team=shop', true],
    ['team==shop', true],
    ['team!=shop', false],
    ['team=other', false],
    ['env in (prod, staging)', true],
    ['env notin (prod)', false],
    ['missing notin (x)', true],
    ['reloader', true],
    ['!reloader', false],
    ['!missing', true],
    ['team=shop,env in (prod,dev),!missing', true],
    ['team=shop,env=dev', false],
    ['team:shop', true],
    ['reloader:*', true],
    ['missing=*', false],
    ['', true],
  ])('"%s" matches the labels: %s', (selector, expected) => {
    expect(parseLabelSelector(selector)(labels)).toBe(expected);
  });

  it('treats missing labels as an empty set', () => {
    expect(parseLabelSelector('a')(undefined)).toBe(false);
    expect(parseLabelSelector('a!=b')(null)).toBe(true);
  });

  it('rejects a malformed requirement with a ConfigError', () => {
    expect(() => parseLabelSelector('team in shop')).toThrow(ConfigError);
  });
});
