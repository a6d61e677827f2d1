/**
 * ESO hashes values with `utils.ObjectHash`: SHA3-224 of Go's `fmt.Sprintf("%+v", v)`
 * (pkg/utils). The stand-in reproduces the text Go prints for the two shapes ESO hashes,
 * so `syncedResourceVersion` and the data-hash annotation look like the real ones.
 */
import { createHash } from 'node:crypto';

function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** Go prints maps with keys sorted: `map[a:1 b:2]`. */
function goMap<V>(m: Readonly<Record<string, V>> | undefined, value: (v: V) => string): string {
  const keys = Object.keys(m ?? {}).sort(byteOrder);
  return `map[${keys.map((k) => `${k}:${value((m as Record<string, V>)[k] as V)}`).join(' ')}]`;
}

export function objectHash(text: string): string {
  return createHash('sha3-224').update(text).digest('hex');
}

/** ESO `getResourceVersion`: `<generation>-<hash of struct{annotations, labels}>`. */
export function esoResourceVersion(meta: {
  generation?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}): string {
  const text = `{annotations:${goMap(meta.annotations, (v) => v)} labels:${goMap(meta.labels, (v) => v)}}`;
  return `${meta.generation ?? 0}-${objectHash(text)}`;
}

/** ESO data-hash annotation: hash of `map[string][]byte` printed as `map[k:[104 105]]`. */
export function esoDataHash(data: Readonly<Record<string, Buffer>>): string {
  return objectHash(goMap(data, (v) => `[${[...v].join(' ')}]`));
}
