import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../../lib/errors.js';
import { hashManifestFile, hashManifestText } from '../../../../lib/kube/restart/hash-manifest.js';

const fixtures = new URL('../../../fixtures/restart/', import.meta.url);
const expected = JSON.parse(readFileSync(new URL('hash-vectors/expected.json', fixtures), 'utf8'));
const file = (name: string) => fileURLToPath(new URL(`manifests/${name}`, fixtures));
const goHash = (group: string, name: string, algorithm = 'sha1') =>
  expected[group].find((e: { name: string }) => e.name === name)[algorithm];

describe('hashManifestFile (rotor hash -f FILE)', () => {
  it('prints the Reloader hash of a Secret manifest in YAML, binary values included', async () => {
    await expect(hashManifestFile(file('secret-db.yaml'))).resolves.toEqual({
      kind: 'Secret',
      name: 'db',
      hash: goHash('secrets', 'manifest secret-db.yaml'),
    });
  });

  it('applies stringData over data, as the API server stores it', async () => {
    const result = await hashManifestFile(file('secret-string-data.yaml'));
    expect(result.hash).toBe(goHash('secrets', 'manifest secret-string-data.yaml'));
  });

  it('hashes a ConfigMap manifest in JSON with data and binaryData', async () => {
    const result = await hashManifestFile(file('configmap-app.json'));
    expect(result).toEqual({
      kind: 'ConfigMap',
      name: 'app-config',
      hash: goHash('configMaps', 'manifest configmap-app.json'),
    });
  });

  it('hashes with SHA-1, the digest of every Reloader release', async () => {
    const result = await hashManifestFile(file('secret-db.yaml'));
    expect(result.hash).toMatch(/^[0-9a-f]{40}$/);
  });

  // The API server decodes `data` with Go's base64.StdEncoding: padding required, CR/LF ignored.
  it.each([
    ['unpadded', 'YQ'],
    ['padding in the middle', 'YQ==YQ=='],
    ['a space inside', 'YW Jj'],
    ['the URL alphabet', 'YQ-_'],
  ])('rejects data the API server rejects: %s (%s)', (_why, value) => {
    const text = `kind: Secret\nmetadata: {name: s}\ndata: {k: "${value}"}\n`;
    expect(() => hashManifestText(text, 's.yaml')).toThrow(/data\.k: is not standard base64/);
  });

  it('accepts padded base64 split over lines, as the API server does', () => {
    const folded = hashManifestText('kind: Secret\nmetadata: {name: s}\ndata: {k: "YW\\r\\nJj"}\n', 's.yaml');
    const plain = hashManifestText('kind: Secret\nmetadata: {name: s}\ndata: {k: YWJj}\n', 's.yaml');
    expect(folded.hash).toBe(plain.hash);
  });

  it('rejects unpadded binaryData of a ConfigMap too', () => {
    const text = 'kind: ConfigMap\nmetadata: {name: c}\nbinaryData: {k: YQ}\n';
    expect(() => hashManifestText(text, 'c.yaml')).toThrow(/binaryData\.k: is not standard base64/);
  });

  it.each([
    ['two-documents.yaml', /exactly one/],
    ['deployment.yaml', /not a Secret or ConfigMap/],
    ['secret-bad-base64.yaml', /base64/],
    ['missing.yaml', /cannot read/],
  ])('rejects %s with a ValidationError that says why', async (name, message) => {
    const error = await hashManifestFile(file(name)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as Error).message).toMatch(message);
  });
});
