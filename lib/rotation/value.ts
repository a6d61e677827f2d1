import type { SecretValue } from '../backends/backend.js';

/**
 * Generators produce named fields; stores hold either fields (KV v2) or one string (Key
 * Vault). A Key Vault secret whose value is a JSON object is treated as fields, so ESO's
 * `remoteRef.property` keeps working; otherwise the one primary field is the whole value.
 */

/** The fields a value holds: KV v2 fields, or the keys of a JSON object stored as a string. */
export function fieldsOf(value: SecretValue): Record<string, string> | undefined {
  if (typeof value !== 'string') return { ...value };
  const parsed = parseJsonObject(value);
  if (!parsed) return undefined;
  const fields: Record<string, string> = {};
  for (const [k, v] of Object.entries(parsed)) fields[k] = typeof v === 'string' ? v : JSON.stringify(v);
  return fields;
}

/**
 * The next value: `fields` merged over the current value's fields (other fields such as
 * `host` are kept). A plain-string current value stays a plain string when only the
 * primary field is written.
 */
export function nextValue(
  current: SecretValue,
  fields: Readonly<Record<string, string>>,
  primaryField: string,
): SecretValue {
  if (typeof current !== 'string') return { ...current, ...fields };
  const existing = parseJsonObject(current);
  if (existing) return JSON.stringify({ ...existing, ...fields });
  const keys = Object.keys(fields);
  if (keys.length === 1 && keys[0] === primaryField) return fields[primaryField] as string;
  return JSON.stringify(fields);
}

/** Content type for a new Key Vault version whose current one has none. */
export function contentTypeOf(value: SecretValue): string {
  return typeof value === 'string' && parseJsonObject(value) ? 'application/json' : 'text/plain';
}

function parseJsonObject(text: string): Record<string, unknown> | undefined {
  const trimmed = text.trim();
  if (!trimmed.startsWith('{')) return undefined;
  try {
    const value: unknown = JSON.parse(trimmed);
    return value && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}
