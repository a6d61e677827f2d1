import { readFileSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, type Node, parseDocument } from 'yaml';

/**
 * The configuration document (ROTOR_CONFIG, a JSON or YAML file, or ROTOR_CONFIG_JSON) with
 * where each value was written, so an error can say `rotor.yaml:12` instead of a schema path.
 */
export interface ConfigDocument {
  value: Record<string, unknown>;
  /** What the user wrote to name the document: the file path or ROTOR_CONFIG_JSON. */
  source?: string;
  /** Folder of the document file, against which paths inside it are resolved. */
  dir?: string;
  /** Syntax errors, each with its file:line:column. */
  errors: string[];
  /** `file:line` of the key at `path` (or of its deepest existing parent). */
  locate(path: readonly (string | number)[]): string | undefined;
}

const nowhere = () => undefined;

export function readConfigDocument(
  vars: Readonly<Record<string, string | undefined>>,
  resolvePath: (p: string) => string,
): ConfigDocument {
  if (vars.ROTOR_CONFIG_JSON) return parseText(vars.ROTOR_CONFIG_JSON, 'ROTOR_CONFIG_JSON', undefined);
  if (!vars.ROTOR_CONFIG) return { value: {}, errors: [], locate: nowhere };
  const file = resolvePath(vars.ROTOR_CONFIG);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const reason =
      (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
    return {
      value: {},
      source: vars.ROTOR_CONFIG,
      errors: [`ROTOR_CONFIG: cannot read configuration document ${file}: ${reason}`],
      locate: nowhere,
    };
  }
  return parseText(text, vars.ROTOR_CONFIG, file);
}

function parseText(text: string, source: string, file: string | undefined): ConfigDocument {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: true });
  const label = file ? basename(file) : source;
  const at = (offset: number) => {
    const { line, col } = lines.linePos(offset);
    return file ? `${source}:${line}:${col}` : `${label} (line ${line}, column ${col})`;
  };
  const errors = doc.errors.map(
    (e) => `${at(e.pos[0])}: ${(e.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '')}`,
  );
  const base = { source, ...(file ? { dir: dirname(file) } : {}) };
  if (errors.length > 0) return { ...base, value: {}, errors, locate: nowhere };
  const value: unknown = doc.toJS();
  if (value !== null && value !== undefined && (typeof value !== 'object' || Array.isArray(value))) {
    return { ...base, value: {}, errors: [`${source}: must hold a mapping of settings`], locate: nowhere };
  }
  const locate = (path: readonly (string | number)[]) => {
    let node: Node | null | undefined = doc.contents;
    let offset = node?.range?.[0];
    for (const segment of path) {
      if (isMap(node)) {
        const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(segment));
        if (!pair) break;
        offset = (pair.key as Node).range?.[0] ?? offset;
        node = pair.value as Node | null;
      } else if (isSeq(node) && typeof segment === 'number') {
        node = node.items[segment] as Node | undefined;
        offset = node?.range?.[0] ?? offset;
      } else break;
    }
    return offset === undefined ? undefined : at(offset);
  };
  return { ...base, value: (value ?? {}) as Record<string, unknown>, errors: [], locate };
}
