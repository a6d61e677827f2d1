import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../../lib/errors.js';
import { generatePassword, type RandomInt } from '../../../../lib/rotation/generators/password.js';
import {
  alphabetOf,
  CHAR_CLASSES,
  DEFAULT_SYMBOLS,
  type PasswordOptions,
} from '../../../../lib/rotation/policy.js';

const options = (extra: Partial<PasswordOptions> = {}): PasswordOptions => ({
  length: 32,
  classes: [...CHAR_CLASSES],
  exclude: '',
  symbols: DEFAULT_SYMBOLS,
  ...extra,
});

const optionsArb = fc
  .record({
    length: fc.integer({ min: 8, max: 200 }),
    classes: fc.uniqueArray(fc.constantFrom(...CHAR_CLASSES), { minLength: 1 }),
    exclude: fc.string({ unit: fc.constantFrom(...'abcXYZ019!#%'), maxLength: 6 }),
  })
  .map((o) => options(o));

describe('generatePassword', () => {
  it('has the requested length, one character of every class, and none excluded', () => {
    fc.assert(
      fc.property(optionsArb, (o) => {
        const password = generatePassword(o);

        expect(password).toHaveLength(o.length);
        for (const cls of o.classes)
          expect([...password].some((c) => alphabetOf(cls, o).includes(c))).toBe(true);
        for (const c of o.exclude) expect(password).not.toContain(c);
      }),
      { numRuns: 300 },
    );
  });

  it('uses only characters of the requested classes', () => {
    const o = options({ classes: ['digit'], length: 64 });

    expect(generatePassword(o)).toMatch(/^[0-9]{64}$/);
  });

  it('draws every character with randomInt over the exact alphabet size, so no modulo bias exists', () => {
    const bounds: number[] = [];
    const recording: RandomInt = (max) => {
      bounds.push(max);
      return max - 1;
    };
    const o = options({ classes: ['lower', 'digit'], exclude: 'abc', length: 10 });

    generatePassword(o, recording);

    // 23 lower letters and 10 digits after exclusion: one draw per class, 8 from the 33-character union, 9 shuffle swaps.
    expect(bounds.slice(0, 2)).toEqual([23, 10]);
    expect(bounds.slice(2, 10)).toEqual(Array(8).fill(33));
    expect(bounds.slice(10)).toEqual([10, 9, 8, 7, 6, 5, 4, 3, 2]);
  });

  it('spreads characters evenly over the alphabet (chi-square, 16 symbols, 64k draws)', () => {
    const o = options({ classes: ['digit', 'upper'], exclude: 'GHIJKLMNOPQRSTUVWXYZ', length: 64 });
    const counts = new Map<string, number>();
    for (let i = 0; i < 1000; i++)
      for (const c of generatePassword(o)) counts.set(c, (counts.get(c) ?? 0) + 1);
    const total = 64_000;
    const expected = total / 16;

    const chiSquare = [...counts.values()].reduce((sum, n) => sum + (n - expected) ** 2 / expected, 0);

    expect(counts.size).toBe(16);
    // 15 degrees of freedom: p < 1e-6 above ~ 50; a biased generator is far beyond that.
    expect(chiSquare).toBeLessThan(50);
  });

  it('refuses a class emptied by exclusions instead of silently dropping it', () => {
    expect(() => generatePassword(options({ classes: ['digit'], exclude: '0123456789' }))).toThrow(
      ValidationError,
    );
  });
});
