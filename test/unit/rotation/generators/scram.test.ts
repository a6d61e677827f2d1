import { createHash, createHmac, pbkdf2Sync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { scramSha256Verifier } from '../../../../lib/rotation/generators/scram.js';

describe('scramSha256Verifier', () => {
  it("has PostgreSQL's stored format: SCRAM-SHA-256$<iter>:<salt>$<StoredKey>:<ServerKey>", () => {
    const verifier = scramSha256Verifier('correct horse battery staple');

    expect(verifier).toMatch(
      /^SCRAM-SHA-256\$4096:[A-Za-z0-9+/]{22}==\$[A-Za-z0-9+/]{43}=:[A-Za-z0-9+/]{43}=$/,
    );
  });

  it('matches what a client holding the password derives: StoredKey = H(ClientKey), ServerKey (RFC 5802)', () => {
    const salt = Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64');
    const verifier = scramSha256Verifier('pencil', salt) as string;
    const [, iterSalt, keys] = verifier.split('$') as [string, string, string];
    const [storedKey, serverKey] = keys.split(':').map((k) => Buffer.from(k, 'base64')) as [Buffer, Buffer];

    // What a client computes from the password (RFC 5802 section 3).
    const salted = pbkdf2Sync('pencil', salt, 4096, 32, 'sha256');
    const clientKey = createHmac('sha256', salted).update('Client Key').digest();

    expect(iterSalt).toBe(`4096:${salt.toString('base64')}`);
    expect(createHash('sha256').update(clientKey).digest()).toEqual(storedKey);
    expect(createHmac('sha256', salted).update('Server Key').digest()).toEqual(serverKey);
  });

  it('uses a fresh salt every time, so equal passwords give different verifiers', () => {
    expect(scramSha256Verifier('same')).not.toBe(scramSha256Verifier('same'));
  });

  it('declines passwords SASLprep could rewrite (non-ASCII), leaving them to the server', () => {
    expect(scramSha256Verifier('päss')).toBeUndefined();
  });
});
