import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { reloaderHash } from '../../../../lib/kube/restart/hash.js';

// Inputs and the expected digests computed by a Go program with Reloader's semantics
// (test/fixtures/restart/hash-vectors/main.go), not by the code under test.
const dir = new URL('../../../fixtures/restart/hash-vectors/', import.meta.url);
const vectors = JSON.parse(readFileSync(new URL('vectors.json', dir), 'utf8'));
const expected = JSON.parse(readFileSync(new URL('expected.json', dir), 'utf8'));

function expectedFor(group: string, name: string): string {
  return expected[group].find((e: { name: string }) => e.name === name).sha1;
}

describe('reloaderHash', () => {
  for (const v of vectors.secrets) {
    it(`hashes the Secret vector "${v.name}" exactly as Go does`, () => {
      expect(reloaderHash({ kind: 'Secret', data: v.data })).toBe(expectedFor('secrets', v.name));
    });
  }
  for (const v of vectors.configMaps) {
    it(`hashes the ConfigMap vector "${v.name}" (data and binaryData) exactly as Go does`, () => {
      const input = { kind: 'ConfigMap' as const, data: v.data, binaryData: v.binaryData };
      expect(reloaderHash(input)).toBe(expectedFor('configMaps', v.name));
    });
  }
  for (const v of vectors.podStatuses) {
    it(`hashes the SecretProviderClassPodStatus vector "${v.name}" exactly as Go does`, () => {
      const input = { kind: 'SecretProviderClassPodStatus' as const, status: v };
      expect(reloaderHash(input)).toBe(expectedFor('podStatuses', v.name));
    });
  }

  it('hashes empty data to SHA-1 of the empty string (da39a3ee…), as REFERENCE.md states', () => {
    expect(reloaderHash({ kind: 'Secret', data: {} })).toBe('da39a3ee5e6b4b0d3255bfef95601890afd80709');
    expect(reloaderHash({ kind: 'ConfigMap' })).toBe('da39a3ee5e6b4b0d3255bfef95601890afd80709');
  });

  it('sorts by UTF-8 bytes: the vector whose keys sort differently in UTF-16 would hash differently with JS sort()', () => {
    const v = vectors.secrets.find((s: { name: string }) => s.name.includes('UTF-16'));
    const entries = Object.entries(v.data as Record<string, string>).map(
      ([k, b]) => `${k}=${Buffer.from(b, 'base64')}`,
    );
    const jsOrder = createHash('sha1')
      .update(Buffer.from([...entries].sort().join(';'), 'utf8'))
      .digest('hex');
    expect(jsOrder).not.toBe(expectedFor('secrets', v.name));
    expect(reloaderHash({ kind: 'Secret', data: v.data })).toBe(expectedFor('secrets', v.name));
  });

  it('accepts decoded bytes and base64 strings for Secret data alike', () => {
    const raw = { bin: Buffer.from([0xff, 0xfe, 0x00, 0x80]) };
    const encoded = { bin: raw.bin.toString('base64') };
    expect(reloaderHash({ kind: 'Secret', data: raw })).toBe(reloaderHash({ kind: 'Secret', data: encoded }));
  });

  it('ignores labels and annotations (they are not part of the input at all)', () => {
    const a = reloaderHash({ kind: 'Secret', data: { k: 'dg==' } });
    expect(a).toBe(reloaderHash({ kind: 'Secret', data: { k: Buffer.from('v') } }));
  });
});
