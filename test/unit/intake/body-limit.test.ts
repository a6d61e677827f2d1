import { describe, expect, it } from 'vitest';
import { PayloadTooLargeError } from '../../../lib/errors.js';
import { checkDeclaredLength, readBodyLimited } from '../../../lib/intake/body-limit.js';

async function* chunks(count: number, size: number) {
  for (let i = 0; i < count; i++) yield new Uint8Array(size);
}

describe('body size limit', () => {
  it('refuses a declared Content-Length over the limit before reading', () => {
    expect(() => checkDeclaredLength('2048', 1024)).toThrow(PayloadTooLargeError);
    expect(() => checkDeclaredLength('1024', 1024)).not.toThrow();
    expect(() => checkDeclaredLength(undefined, 1024)).not.toThrow();
  });

  it('reads a body up to the limit', async () => {
    expect((await readBodyLimited(chunks(4, 256), 1024)).length).toBe(1024);
  });

  it('stops reading as soon as the body passes the limit', async () => {
    let produced = 0;
    async function* endless() {
      for (;;) {
        produced++;
        yield new Uint8Array(512);
      }
    }

    await expect(readBodyLimited(endless(), 1024)).rejects.toBeInstanceOf(PayloadTooLargeError);
    expect(produced).toBe(3);
  });
});
