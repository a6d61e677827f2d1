import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../../lib/errors.js';
import { hashManifestFile } from '../../../../lib/kube/restart/hash-manifest.js';

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

  it('uses the configured digest when asked (sha512-256 for current Reloader)', async () => {
    const result = await hashManifestFile(file('secret-db.yaml'), { algorithm: 'sha512-256' });
    expect(result.hash).toBe(goHash('secrets', 'manifest secret-db.yaml', 'sha512-256'));
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
