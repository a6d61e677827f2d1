import { randomInt as cryptoRandomInt } from 'node:crypto';
import { ValidationError } from '../../errors.js';
import { alphabetOf, type PasswordOptions } from '../policy.js';

/** Uniform integer in [0, max): crypto.randomInt rejects out-of-range draws, so it is unbiased. */
export type RandomInt = (max: number) => number;

export const secureRandomInt: RandomInt = (max) => cryptoRandomInt(max);

/**
 * A password with at least one character of every requested class: one character is
 * drawn from each class, the rest from the union, and the whole is shuffled
 * (Fisher–Yates), every draw uniform through crypto.randomInt.
 */
export function generatePassword(options: PasswordOptions, randomInt: RandomInt = secureRandomInt): string {
  const classes = [...new Set(options.classes)].map((cls) => alphabetOf(cls, options));
  if (classes.some((alphabet) => alphabet.length === 0)) {
    throw new ValidationError('a character class has no characters left after exclusions');
  }
  if (options.length < classes.length)
    throw new ValidationError('length is shorter than the number of classes');
  const union = [...new Set(classes.join(''))].join('');
  const chars = classes.map((alphabet) => pick(alphabet, randomInt));
  while (chars.length < options.length) chars.push(pick(union, randomInt));
  for (let i = chars.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [chars[i], chars[j]] = [chars[j] as string, chars[i] as string];
  }
  return chars.join('');
}

function pick(alphabet: string, randomInt: RandomInt): string {
  return alphabet[randomInt(alphabet.length)] as string;
}
