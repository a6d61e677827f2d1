import { readFile } from 'node:fs/promises';
import { parseAllDocuments } from 'yaml';
import { z } from 'zod';
import { ValidationError } from '../../errors.js';
import { reloaderHash } from './hash.js';

/**
 * `rotor hash -f FILE`: the hash Reloader (and rotor) would write for a Secret or ConfigMap
 * manifest, so a user can compare it with the STAKATER_* variable on a pod template and see
 * why something did or did not restart. YAML or JSON (JSON is YAML).
 */

/**
 * What the API server accepts for `data` / `binaryData`: Go's base64.StdEncoding, which
 * requires the padding (`YQ` is refused, `YQ==` is `a`), and skips CR and LF, nothing else.
 */
const STD_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const base64 = z
  .string()
  .refine((s) => STD_BASE64.test(s.replace(/[\r\n]/g, '')), { message: 'is not standard base64' });

const SecretManifest = z.object({
  kind: z.literal('Secret'),
  metadata: z.object({ name: z.string().min(1) }),
  data: z.record(z.string(), base64).nullish(),
  /** The API server merges stringData over data on write; the stored object is what Reloader hashes. */
  stringData: z.record(z.string(), z.string()).nullish(),
});

const ConfigMapManifest = z.object({
  kind: z.literal('ConfigMap'),
  metadata: z.object({ name: z.string().min(1) }),
  data: z.record(z.string(), z.string()).nullish(),
  binaryData: z.record(z.string(), base64).nullish(),
});

const Manifest = z.discriminatedUnion('kind', [SecretManifest, ConfigMapManifest]);

export interface ManifestHash {
  kind: 'Secret' | 'ConfigMap';
  name: string;
  hash: string;
}

export async function hashManifestFile(path: string): Promise<ManifestHash> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new ValidationError(`cannot read ${path}: ${(error as Error).message}`, [], { cause: error });
  }
  return hashManifestText(text, path);
}

export function hashManifestText(text: string, where: string): ManifestHash {
  const manifest = Manifest.safeParse(singleDocument(text, where));
  if (!manifest.success) {
    throw new ValidationError(
      `${where} is not a Secret or ConfigMap manifest`,
      manifest.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`),
    );
  }
  const m = manifest.data;
  if (m.kind === 'Secret') {
    const data: Record<string, Buffer> = {};
    for (const [k, v] of Object.entries(m.data ?? {})) data[k] = Buffer.from(v, 'base64');
    for (const [k, v] of Object.entries(m.stringData ?? {})) data[k] = Buffer.from(v, 'utf8');
    return { kind: 'Secret', name: m.metadata.name, hash: reloaderHash({ kind: 'Secret', data }) };
  }
  const hash = reloaderHash({ kind: 'ConfigMap', data: m.data, binaryData: m.binaryData });
  return { kind: 'ConfigMap', name: m.metadata.name, hash };
}

function singleDocument(text: string, where: string): unknown {
  const docs = parseAllDocuments(text).filter((d) => d.contents !== null);
  const broken = docs.find((d) => d.errors.length > 0);
  if (broken)
    throw new ValidationError(`${where} is not valid YAML or JSON`, [broken.errors[0]?.message ?? '']);
  if (docs.length !== 1) {
    throw new ValidationError(
      `${where} must hold exactly one Secret or ConfigMap, found ${docs.length} documents`,
    );
  }
  return docs[0]?.toJS();
}
