import type { z } from 'zod';

/**
 * Keys of a configuration document that the schema does not know. zod strips them
 * silently, which turned `clustrs:` into a rotor with no clusters that said it was
 * healthy. Walking the schema beside the document (instead of marking every object
 * strict) keeps the check in one place, whatever shapes the schema grows.
 */
export interface UnknownKey {
  /** Path of the unknown key itself, e.g. ['clusters', 0, 'kubeconfg']. */
  path: (string | number)[];
  /** The closest key valid at that place, when one is close enough to be a typo. */
  suggestion?: string;
}

type Node = z.ZodType;
interface Def {
  type: string;
  shape?: Record<string, Node>;
  innerType?: Node;
  in?: Node;
  element?: Node;
  options?: Node[];
  discriminator?: string;
  valueType?: Node;
  getter?: () => Node;
}

const defOf = (schema: Node): Def => (schema as unknown as { _zod: { def: Def } })._zod.def;

/** Wrappers whose inner schema decides which keys are valid. */
const WRAPPERS = new Set(['default', 'optional', 'nullable', 'prefault', 'readonly', 'catch', 'nonoptional']);

function unwrap(schema: Node): Node {
  let current = schema;
  for (let i = 0; i < 20; i++) {
    const def = defOf(current);
    if (WRAPPERS.has(def.type) && def.innerType) current = def.innerType;
    else if (def.type === 'pipe' && def.in) current = def.in;
    else if (def.type === 'lazy' && def.getter) current = def.getter();
    else return current;
  }
  return current;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** The object schema of a union that fits `value` best (its discriminator, else most known keys). */
function pickOption(def: Def, value: Record<string, unknown>): Node | undefined {
  const objects = (def.options ?? []).map(unwrap).filter((o) => defOf(o).type === 'object');
  if (def.discriminator) {
    const match = objects.find((o) => {
      const literal = defOf(unwrap(defOf(o).shape?.[def.discriminator as string] as Node)) as {
        values?: unknown[];
      };
      return literal.values?.includes(value[def.discriminator as string]);
    });
    if (match) return match;
  }
  let best: Node | undefined;
  let bestScore = -1;
  for (const o of objects) {
    const shape = defOf(o).shape ?? {};
    const score = Object.keys(value).filter((k) => k in shape).length;
    if (score > bestScore) [best, bestScore] = [o, score];
  }
  return best;
}

export function findUnknownKeys(schema: Node, value: unknown, path: (string | number)[] = []): UnknownKey[] {
  const node = unwrap(schema);
  const def = defOf(node);
  if (def.type === 'array' && def.element && Array.isArray(value)) {
    return value.flatMap((item, i) => findUnknownKeys(def.element as Node, item, [...path, i]));
  }
  if (!isPlainObject(value)) return [];
  if (def.type === 'record' && def.valueType) {
    return Object.entries(value).flatMap(([k, v]) => findUnknownKeys(def.valueType as Node, v, [...path, k]));
  }
  if (def.type === 'union') {
    const option = pickOption(def, value);
    return option ? findUnknownKeys(option, value, path) : [];
  }
  if (def.type !== 'object' || !def.shape) return [];
  const shape = def.shape;
  const known = Object.keys(shape);
  return Object.entries(value).flatMap(([key, v]): UnknownKey[] => {
    if (Object.hasOwn(shape, key)) return findUnknownKeys(shape[key] as Node, v, [...path, key]);
    const suggestion = closest(key, known);
    return [{ path: [...path, key], ...(suggestion ? { suggestion } : {}) }];
  });
}

/** The candidate nearest to `word` (edits, adjacent swaps count as one), if it looks like a typo of it. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    const d = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  const limit = Math.max(2, Math.floor(word.length / 3));
  return bestDistance <= limit ? best : undefined;
}

/** Optimal string alignment distance: insertions, deletions, substitutions, adjacent transpositions. */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      const row = d[i] as number[];
      const prev = d[i - 1] as number[];
      row[j] = Math.min((prev[j] as number) + 1, (row[j - 1] as number) + 1, (prev[j - 1] as number) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        row[j] = Math.min(row[j] as number, ((d[i - 2] as number[])[j - 2] as number) + 1);
      }
    }
  }
  return (d[a.length] as number[])[b.length] as number;
}
