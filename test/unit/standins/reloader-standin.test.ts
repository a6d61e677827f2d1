import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { reloaderStandinHash, reloaderStandinVariable } from '../../standins/reloader-standin.js';

/**
 * The Reloader stand-in is written from REFERENCE.md, not from rotor's code; its hash and
 * variable names must still be Reloader's, or the coexistence tests would count rollouts of
 * a Reloader that does not exist. Checked against the vectors a Go program computed with
 * Reloader's semantics (test/fixtures/restart/hash-vectors, verified against Reloader v1.4.21).
 */
const fixture = (file: string) =>
  JSON.parse(readFileSync(new URL(`../../fixtures/restart/hash-vectors/${file}`, import.meta.url), 'utf8'));
const vectors = fixture('vectors.json') as { secrets: Array<{ name: string; data: Record<string, string> }> };
const expected = fixture('expected.json') as { secrets: Array<{ name: string; sha1: string }> };

describe('Reloader stand-in', () => {
  it.each(vectors.secrets.map((v) => [v.name, v.data] as const))(
    'hashes the Secret "%s" as Reloader does',
    (name, data) => {
      expect(reloaderStandinHash(data)).toBe(expected.secrets.find((e) => e.name === name)?.sha1);
    },
  );

  it.each([
    ['my-secret', 'STAKATER_MY_SECRET_SECRET'],
    ['tls.cert--v2', 'STAKATER_TLS_CERT_V2_SECRET'],
    ['-leading', 'STAKATER_LEADING_SECRET'],
    ['trailing-', 'STAKATER_TRAILING__SECRET'],
    ['9lives', 'STAKATER_9LIVES_SECRET'],
  ])('names the variable of Secret %s %s', (secret, variable) => {
    expect(reloaderStandinVariable(secret)).toBe(variable);
  });
});
