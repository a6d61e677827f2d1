import { readdirSync } from 'node:fs';
import path from 'node:path';

/** lib/, the folder the source rules are about. */
export const LIB = path.resolve(import.meta.dirname, '../../../lib');

/** Every .ts file below `dir`, as absolute paths. */
export function sources(dir: string = LIB): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return sources(full);
    return e.name.endsWith('.ts') ? [full] : [];
  });
}
