import { describe, expect, it } from 'vitest';
import { generateBytes } from '../../../../lib/rotation/generators/bytes.js';

describe('generateBytes', () => {
  it.each([
    ['hex', /^[0-9a-f]{64}$/],
    ['base64', /^[A-Za-z0-9+/]{43}=$/],
    ['base64url', /^[A-Za-z0-9_-]{43}$/],
  ] as const)('encodes 32 random bytes as %s', (encoding, shape) => {
    expect(generateBytes({ length: 32, encoding })).toMatch(shape);
  });

  it('decodes back to the requested number of bytes', () => {
    expect(Buffer.from(generateBytes({ length: 48, encoding: 'base64' }), 'base64')).toHaveLength(48);
  });

  it('never repeats a value across calls', () => {
    const values = new Set(
      Array.from({ length: 1000 }, () => generateBytes({ length: 16, encoding: 'hex' })),
    );

    expect(values.size).toBe(1000);
  });
});
