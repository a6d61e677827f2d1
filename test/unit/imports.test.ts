import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LIB, sources } from './support/lib-sources.js';

/**
 * lib/ has no import cycle, type-only imports included: a cycle means two modules each
 * need the other (backends/registry.ts and the backend folders did), so neither can be
 * read, tested or loaded on its own.
 */

const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)['"](\.{1,2}\/[^'"]+)['"]/gm;

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(SPECIFIER)].map((m) =>
    path.resolve(path.dirname(file), (m[1] as string).replace(/\.js$/, '.ts')),
  );
}

/** Every cycle, each as the chain of files (relative to lib/) that closes it. */
function cycles(files: readonly string[]): string[][] {
  const graph = new Map(files.map((f) => [f, importsOf(f).filter((t) => files.includes(t))]));
  const found: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (file: string): void => {
    state.set(file, 'open');
    stack.push(file);
    for (const next of graph.get(file) ?? []) {
      if (state.get(next) === 'open') found.push([...stack.slice(stack.indexOf(next)), next]);
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(file, 'done');
  };
  for (const file of files) if (!state.has(file)) visit(file);
  return found.map((c) => c.map((f) => path.relative(LIB, f)));
}

describe('lib/ imports', () => {
  it('form no cycle', () => {
    expect(cycles(sources())).toEqual([]);
  });
});
