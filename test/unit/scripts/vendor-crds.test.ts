import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { schemaOnly, sourceOf, stripSchema, vendorCrds } from '../../../scripts/vendor-crds.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const CRDS = path.join(ROOT, 'test', 'env', 'crds');

async function crdFiles(): Promise<string[]> {
  return (await readdir(CRDS)).filter((f) => f.endsWith('.yaml')).sort();
}

interface Crd {
  file: string;
  spec: { group: string; names: { kind: string }; versions: unknown[] };
}

let parsed: Promise<Crd[]> | undefined;
/** Every CRD document of test/env/crds, parsed once. */
function crds(): Promise<Crd[]> {
  parsed ??= crdFiles().then(async (files) =>
    (
      await Promise.all(
        files.map(async (file) =>
          parseAllDocuments(await readFile(path.join(CRDS, file), 'utf8')).map((d) => ({
            file,
            ...(d.toJS() as Omit<Crd, 'file'>),
          })),
        ),
      )
    ).flat(),
  );
  return parsed;
}

function hasDescription(node: unknown): boolean {
  if (Array.isArray(node)) return node.some(hasDescription);
  if (typeof node !== 'object' || node === null) return false;
  return Object.entries(node).some(([k, v]) => k === 'description' || hasDescription(v));
}

describe('the CRDs the test environment applies (test/env/crds)', () => {
  // 1.2 MB of YAML: parsed once, with room for a busy machine.
  beforeAll(() => crds(), 120_000);

  it('live inside the repository and include what the real controllers need to start', async () => {
    const present = (await crds()).map((c) => `${c.spec.names.kind}.${c.spec.group}`);
    for (const kind of [
      'ExternalSecret.external-secrets.io',
      'ClusterExternalSecret.external-secrets.io',
      'SecretStore.external-secrets.io',
      'ClusterSecretStore.external-secrets.io',
      'GeneratorState.generators.external-secrets.io',
      'PushSecret.external-secrets.io',
      'ClusterPushSecret.external-secrets.io',
      'VaultStaticSecret.secrets.hashicorp.com',
      'VaultAuth.secrets.hashicorp.com',
      'VaultConnection.secrets.hashicorp.com',
      'SecretTransformation.secrets.hashicorp.com',
      'HCPAuth.secrets.hashicorp.com',
      'HCPVaultSecretsApp.secrets.hashicorp.com',
      'VaultAuthGlobal.secrets.hashicorp.com',
      'CSISecrets.secrets.hashicorp.com',
      'SecretProviderClass.secrets-store.csi.x-k8s.io',
      'SecretProviderClassPodStatus.secrets-store.csi.x-k8s.io',
      'Rollout.argoproj.io',
    ]) {
      expect(present).toContain(kind);
    }
  });

  it('are schema-only: no description anywhere in a schema or printer column', async () => {
    for (const crd of await crds()) expect(hasDescription(crd.spec.versions), crd.file).toBe(false);
  });

  it('each have a provenance row naming repository, tag, upstream path, licence and a SHA-256', async () => {
    const provenance = await readFile(path.join(CRDS, 'PROVENANCE.md'), 'utf8');
    for (const f of await crdFiles()) {
      const source = sourceOf(f);
      expect(source, f).toBeDefined();
      expect(provenance).toMatch(new RegExp(`\\| ${f.replace(/\./g, '\\.')} \\| [^|]+ \\| [0-9a-f]{64} \\|`));
      for (const fact of [source?.repository, source?.tag, source?.licence])
        expect(provenance).toContain(fact);
    }
  });

  it('are read by no code through ../shared (a fresh clone has nothing beside it)', async () => {
    const tracked = execFileSync('git', ['ls-files', '*.ts', '*.mjs', '*.js', '*.json', '.ci/*'], {
      cwd: ROOT,
      encoding: 'utf8',
    })
      .split('\n')
      .filter((f) => f && !f.startsWith('test/unit/scripts/'));
    const offenders: string[] = [];
    for (const f of tracked) {
      const text = await readFile(path.join(ROOT, f), 'utf8').catch(() => '');
      if (/\.\.\/shared\b|['"]\.\.['"],\s*['"]shared['"]/.test(text)) offenders.push(f);
    }
    expect(offenders).toEqual([]);
  });
});

describe('scripts/vendor-crds.ts', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });

  it('drops schema descriptions and keeps a field that is named "description"', () => {
    const schema = {
      description: 'the object',
      type: 'object',
      properties: {
        description: { description: 'a field called description', type: 'string' },
        items: { type: 'array', items: { description: 'x', type: 'string', enum: ['a'] } },
        extra: { type: 'object', additionalProperties: { description: 'y', type: 'integer' } },
        either: { anyOf: [{ description: 'z', type: 'integer' }, { type: 'string' }] },
      },
      default: { description: 'default values are data' },
      'x-kubernetes-validations': [{ rule: 'self.a == 1', message: 'kept' }],
    };
    expect(stripSchema(schema)).toEqual({
      type: 'object',
      properties: {
        description: { type: 'string' },
        items: { type: 'array', items: { type: 'string', enum: ['a'] } },
        extra: { type: 'object', additionalProperties: { type: 'integer' } },
        either: { anyOf: [{ type: 'integer' }, { type: 'string' }] },
      },
      default: { description: 'default values are data' },
      'x-kubernetes-validations': [{ rule: 'self.a == 1', message: 'kept' }],
    });
  });

  it('strips printer column descriptions and refuses anything but a CRD', () => {
    const crd = {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      spec: {
        versions: [
          {
            name: 'v1',
            additionalPrinterColumns: [
              { name: 'Ready', jsonPath: '.status', description: 'd', type: 'string' },
            ],
            schema: { openAPIV3Schema: { description: 'd', type: 'object' } },
          },
        ],
      },
    };
    expect(schemaOnly(crd)).toEqual({
      ...crd,
      spec: {
        versions: [
          {
            name: 'v1',
            additionalPrinterColumns: [{ name: 'Ready', jsonPath: '.status', type: 'string' }],
            schema: { openAPIV3Schema: { type: 'object' } },
          },
        ],
      },
    });
    expect(() => schemaOnly({ kind: 'ConfigMap' })).toThrow(/not a CustomResourceDefinition/);
  });

  it('regenerates a folder with a provenance row per file, and refuses a file of unknown origin', async () => {
    const from = await mkdtemp(path.join(os.tmpdir(), 'rotor-crds-in-'));
    const to = await mkdtemp(path.join(os.tmpdir(), 'rotor-crds-out-'));
    dirs.push(from, to);
    const upstream = [
      'apiVersion: apiextensions.k8s.io/v1',
      'kind: CustomResourceDefinition',
      'metadata: {name: generatorstates.generators.external-secrets.io}',
      'spec:',
      '  group: generators.external-secrets.io',
      '  versions: [{name: v1alpha1, schema: {openAPIV3Schema: {description: long, type: object}}}]',
      '',
    ].join('\n');
    await writeFile(path.join(from, 'generators.external-secrets.io_generatorstates.yaml'), upstream);
    expect(await vendorCrds(from, to)).toEqual(['generators.external-secrets.io_generatorstates.yaml']);
    const out = await readFile(path.join(to, 'generators.external-secrets.io_generatorstates.yaml'), 'utf8');
    expect(out).not.toContain('long');
    expect(out).toContain('type: object');
    const provenance = await readFile(path.join(to, 'PROVENANCE.md'), 'utf8');
    expect(provenance).toContain(createHash('sha256').update(upstream).digest('hex'));
    expect(provenance).toContain('config/crds/bases/generators.external-secrets.io_generatorstates.yaml');

    await writeFile(path.join(from, 'example.com_widgets.yaml'), upstream);
    await expect(vendorCrds(from, to)).rejects.toThrow(/no provenance for example\.com_widgets\.yaml/);
  });
});
