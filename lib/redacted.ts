import { z } from 'zod';

const INSPECT = Symbol.for('nodejs.util.inspect.custom');
export const REDACTED_TEXT = '***';

/**
 * A secret-bearing configuration value (a token, a password, a URL with a token in it).
 * Every way of turning it into text (JSON, String(), template literals, util.inspect,
 * console.log, pino) gives `***`; only `reveal()` gives the value, at the one place that
 * hands it to a client library. The value lives in a private field, so spreading,
 * Object.entries and structuredClone of a config never carry it either.
 */
export class Redacted {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return REDACTED_TEXT;
  }

  toJSON(): string {
    return REDACTED_TEXT;
  }

  [Symbol.toPrimitive](): string {
    return REDACTED_TEXT;
  }

  [INSPECT](): string {
    return REDACTED_TEXT;
  }
}

/** A config string that is a secret: validated as text, kept as a Redacted from then on. */
export function secretString(schema: z.ZodString = z.string().min(1)) {
  return schema.transform((value) => new Redacted(value));
}

/** The value of an optional secret setting, for the client that needs it. */
export function reveal(value: Redacted | undefined): string | undefined {
  return value?.reveal();
}
