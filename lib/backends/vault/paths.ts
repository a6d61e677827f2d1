import { trimSlashes } from '../../secret-ref.js';

/** API paths of the KV engines; each segment is URL-encoded because node-vault concatenates paths into the URI. */
function encodePath(path: string): string {
  return trimSlashes(path)
    .split('/')
    .filter(Boolean)
    .map((segment) => encodeURIComponent(segment))
    .join('/');
}

export const kv2 = {
  data: (mount: string, path: string) => `${encodePath(mount)}/data/${encodePath(path)}`,
  metadata: (mount: string, path: string) => `${encodePath(mount)}/metadata/${encodePath(path)}`,
  /** LIST target; a folder prefix ends with '/'. */
  list: (mount: string, prefix: string) =>
    `${encodePath(mount)}/metadata/${prefix ? `${encodePath(prefix)}/` : ''}`,
};

export const kv1 = {
  data: (mount: string, path: string) => `${encodePath(mount)}/${encodePath(path)}`,
  list: (mount: string, prefix: string) => `${encodePath(mount)}/${prefix ? `${encodePath(prefix)}/` : ''}`,
};

/** Vault may return numbers, booleans or objects as field values; consumers see strings. */
export function stringFields(data: unknown): Record<string, string> {
  const fields: Record<string, string> = {};
  if (data && typeof data === 'object') {
    for (const [key, value] of Object.entries(data as Record<string, unknown>)) {
      fields[key] = typeof value === 'string' ? value : JSON.stringify(value);
    }
  }
  return fields;
}
