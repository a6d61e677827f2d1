import { createHash } from 'node:crypto';

/**
 * Stakater Reloader's content hash, byte for byte. Reloader builds `key=value` strings,
 * sorts them with Go's `sort.Strings` (byte order of the UTF-8 encoding, not the UTF-16
 * code-unit order of JavaScript's `sort()`), joins them with `;` and digests the bytes.
 * Secret values are raw bytes (possibly not UTF-8), so entries are Buffers throughout.
 *
 * The digest is SHA-1 in every Reloader release (internal/pkg/crypto/sha.go). A switch to
 * SHA-512/256 was merged on master in January 2026 and reverted within three days, never
 * released: a different digest here would make every change roll out twice beside Reloader.
 */

/** Secret `data` as the API returns it (base64 strings) or already decoded. */
export type SecretData = Record<string, Buffer | Uint8Array | string>;

export type HashInput =
  | { kind: 'Secret'; data?: SecretData | null }
  | { kind: 'ConfigMap'; data?: Record<string, string> | null; binaryData?: SecretData | null }
  | {
      kind: 'SecretProviderClassPodStatus';
      status: { secretProviderClassName?: string; objects?: Array<{ id?: string; version?: string }> | null };
    };

const SEPARATOR = Buffer.from(';');

export function reloaderHash(input: HashInput): string {
  return createHash('sha1')
    .update(sortedJoin(entriesOf(input)))
    .digest('hex');
}

function entriesOf(input: HashInput): Buffer[] {
  switch (input.kind) {
    case 'Secret':
      return Object.entries(input.data ?? {}).map(([k, v]) => entry(k, bytesOf(v)));
    case 'ConfigMap':
      return [
        ...Object.entries(input.data ?? {}).map(([k, v]) => entry(k, Buffer.from(v, 'utf8'))),
        ...Object.entries(input.binaryData ?? {}).map(([k, v]) =>
          entry(k, Buffer.from(bytesOf(v).toString('base64'), 'ascii')),
        ),
      ];
    case 'SecretProviderClassPodStatus':
      return [
        ...(input.status.objects ?? []).map((o) => Buffer.from(`${o.id ?? ''}=${o.version ?? ''}`, 'utf8')),
        Buffer.from(`SecretProviderClassName=${input.status.secretProviderClassName ?? ''}`, 'utf8'),
      ];
  }
}

function entry(key: string, value: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`${key}=`, 'utf8'), value]);
}

/** API objects carry Secret data base64-encoded; decoded bytes pass through. */
function bytesOf(value: Buffer | Uint8Array | string): Buffer {
  if (typeof value === 'string') return Buffer.from(value, 'base64');
  return Buffer.isBuffer(value) ? value : Buffer.from(value);
}

function sortedJoin(entries: Buffer[]): Buffer {
  entries.sort(Buffer.compare);
  const parts: Buffer[] = [];
  for (const [i, e] of entries.entries()) {
    if (i > 0) parts.push(SEPARATOR);
    parts.push(e);
  }
  return Buffer.concat(parts);
}
