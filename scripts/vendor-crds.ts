/**
 * Regenerates test/env/crds/ — the CustomResourceDefinitions the test environment and the
 * sandbox apply — from a folder of upstream CRD files:
 *
 *   npx tsx scripts/vendor-crds.ts <upstream-crd-folder> [output-folder]
 *
 * Each copy keeps the schema (types, enums, validations, defaults, printer columns) and
 * drops every `description`, which is most of an upstream file's size and all of its prose.
 * PROVENANCE.md is rewritten from SOURCES below: the upstream repository, tag, path and
 * licence of every file, with the SHA-256 of the upstream text it was made from. A file
 * that no entry of SOURCES claims stops the script: say where it comes from first.
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments, stringify } from 'yaml';

export interface CrdSource {
  /** Which upstream file names this entry claims. */
  files: RegExp;
  project: string;
  repository: string;
  /** Release tag, or the branch and commit range when upstream tags none. */
  tag: string;
  /** Path of the file in the upstream repository. */
  upstreamPath: (file: string) => string;
  licence: string;
  /** Why the environment needs these. */
  why: string;
}

export const SOURCES: readonly CrdSource[] = [
  {
    files: /^(external-secrets\.io|generators\.external-secrets\.io)_.+\.yaml$/,
    project: 'External Secrets Operator',
    repository: 'https://github.com/external-secrets/external-secrets',
    tag: 'v2.9.0 (helm-chart-2.9.0); external-secrets.io/v1 served',
    upstreamPath: (f) => `config/crds/bases/${f}`,
    licence: 'Apache-2.0',
    why: 'ExternalSecret, ClusterExternalSecret and the stores for rotor and the operators; GeneratorState, PushSecret and ClusterPushSecret because the real ESO controller does not start without them (v0.16.2 runs on these v2.9.0 schemas, a superset of its own)',
  },
  {
    files: /^secrets\.hashicorp\.com_.+\.yaml$/,
    project: 'Vault Secrets Operator',
    repository: 'https://github.com/hashicorp/vault-secrets-operator',
    tag: 'v1.4.1',
    upstreamPath: (f) => `config/crd/bases/${f}`,
    licence: 'BUSL-1.1 (Business Source License 1.1)',
    why: 'VaultStaticSecret, VaultAuth, VaultConnection and the dynamic/PKI kinds; SecretTransformation, HCPAuth, HCPVaultSecretsApp, VaultAuthGlobal and CSISecrets because the real VaultStaticSecret controller does not start without them',
  },
  {
    files: /^secrets-store\.csi\.x-k8s\.io_.+\.yaml$/,
    project: 'Secrets Store CSI Driver',
    repository: 'https://github.com/kubernetes-sigs/secrets-store-csi-driver',
    tag: 'main after v1.6 (no release tag)',
    upstreamPath: (f) => `config/crd/bases/${f}`,
    licence: 'Apache-2.0',
    why: 'SecretProviderClass and SecretProviderClassPodStatus',
  },
  {
    files: /^argoproj\.io_rollouts\.yaml$/,
    project: 'Argo Rollouts',
    repository: 'https://github.com/argoproj/argo-rollouts',
    tag: 'main after v1.9 (no release tag)',
    upstreamPath: () => 'manifests/crds/rollout-crd.yaml',
    licence: 'Apache-2.0',
    why: 'Rollout, a workload kind rotor restarts',
  },
];

type JsonObject = Record<string, unknown>;

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Schema keywords whose value is a map of field name → schema (the names are data, not keywords). */
const SCHEMA_MAPS = ['properties', 'patternProperties', 'definitions', 'dependencies'];
/** Keywords whose value is one schema, or a list of schemas. */
const SCHEMA_VALUES = ['items', 'additionalProperties', 'not', 'allOf', 'anyOf', 'oneOf', 'additionalItems'];

/** A JSON schema without its `description`s; a field *named* description stays. */
export function stripSchema(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(stripSchema);
  if (!isObject(schema)) return schema;
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === 'description') continue;
    if (SCHEMA_MAPS.includes(key) && isObject(value)) {
      out[key] = Object.fromEntries(Object.entries(value).map(([name, s]) => [name, stripSchema(s)]));
    } else if (SCHEMA_VALUES.includes(key)) {
      out[key] = stripSchema(value);
    } else {
      out[key] = value;
    }
  }
  return out;
}

/** The CRD with every version's schema and printer columns stripped of descriptions. */
export function schemaOnly(crd: JsonObject): JsonObject {
  const spec = crd.spec;
  if (!isObject(spec) || !Array.isArray(spec.versions)) throw new Error('not a CustomResourceDefinition');
  const versions = spec.versions.map((v) => {
    if (!isObject(v)) return v;
    const out: JsonObject = { ...v };
    if (isObject(v.schema) && v.schema.openAPIV3Schema !== undefined) {
      out.schema = { ...v.schema, openAPIV3Schema: stripSchema(v.schema.openAPIV3Schema) };
    }
    if (Array.isArray(v.additionalPrinterColumns)) {
      out.additionalPrinterColumns = v.additionalPrinterColumns.map((c) => {
        if (!isObject(c)) return c;
        const { description: _dropped, ...rest } = c;
        return rest;
      });
    }
    return out;
  });
  return { ...crd, spec: { ...spec, versions } };
}

export function sourceOf(file: string): CrdSource | undefined {
  return SOURCES.find((s) => s.files.test(file));
}

function header(file: string, source: CrdSource): string {
  return [
    `# Schema-only copy of ${source.project} ${source.upstreamPath(file)}`,
    `# (${source.repository}, ${source.tag}; licence ${source.licence}).`,
    '# Descriptions stripped; generated by scripts/vendor-crds.ts, see PROVENANCE.md. Do not edit.',
    '',
  ].join('\n');
}

function provenance(rows: { file: string; source: CrdSource; sha256: string }[]): string {
  const lines = [
    '# Where these CRDs come from',
    '',
    'Schema-only copies of upstream CustomResourceDefinitions: every `description` removed,',
    'everything else unchanged. The test environment (test/env/kube.ts) and the local sandbox',
    'apply them to their own kube-apiservers so objects are validated by the real schemas.',
    "rotor never installs them in a user's cluster: the operators' own charts do that.",
    '',
    'Regenerate from a folder of upstream files (names as in the table):',
    '',
    '```bash',
    'npx tsx scripts/vendor-crds.ts <upstream-crd-folder>',
    '```',
    '',
    '## Sources',
    '',
  ];
  for (const source of SOURCES) {
    const mine = rows.filter((r) => r.source === source);
    if (mine.length === 0) continue;
    lines.push(
      `### ${source.project}`,
      '',
      `- repository: ${source.repository}`,
      `- tag: ${source.tag}`,
      `- licence: ${source.licence}`,
      `- why: ${source.why}`,
      '',
      '| file | upstream path | SHA-256 of the upstream file |',
      '|---|---|---|',
      ...mine.map((r) => `| ${r.file} | ${source.upstreamPath(r.file)} | ${r.sha256} |`),
      '',
    );
  }
  return lines.join('\n');
}

export async function vendorCrds(fromDir: string, toDir: string): Promise<string[]> {
  const files = (await readdir(fromDir)).filter((f) => f.endsWith('.yaml')).sort();
  const unclaimed = files.filter((f) => !sourceOf(f));
  if (unclaimed.length > 0) {
    throw new Error(
      `no provenance for ${unclaimed.join(', ')}: add an entry to SOURCES in scripts/vendor-crds.ts`,
    );
  }
  if (files.length === 0) throw new Error(`no .yaml files in ${fromDir}`);
  await rm(toDir, { recursive: true, force: true });
  await mkdir(toDir, { recursive: true });
  const rows: { file: string; source: CrdSource; sha256: string }[] = [];
  for (const file of files) {
    const text = await readFile(path.join(fromDir, file), 'utf8');
    const source = sourceOf(file) as CrdSource;
    const docs = parseAllDocuments(text).map((d) => {
      if (d.errors.length > 0) throw new Error(`${file}: ${d.errors[0]?.message}`);
      return d.toJS() as JsonObject | null;
    });
    const crds = docs.filter((d): d is JsonObject => d !== null).map(schemaOnly);
    const body = crds.map((c) => stringify(c, { lineWidth: 0 })).join('---\n');
    await writeFile(path.join(toDir, file), header(file, source) + body);
    rows.push({ file, source, sha256: createHash('sha256').update(text).digest('hex') });
  }
  await writeFile(path.join(toDir, 'PROVENANCE.md'), provenance(rows));
  return files;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const [from, to] = process.argv.slice(2);
  if (!from) {
    console.error('usage: npx tsx scripts/vendor-crds.ts <upstream-crd-folder> [output-folder]');
    process.exit(2);
  }
  const root = fileURLToPath(new URL('../', import.meta.url));
  const out = to ?? path.join(root, 'test', 'env', 'crds');
  vendorCrds(path.resolve(from), out).then(
    (files) => console.log(`wrote ${files.length} CRD files and PROVENANCE.md to ${out}`),
    (error: unknown) => {
      console.error(`vendor-crds: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    },
  );
}
