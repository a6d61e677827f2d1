import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LIB, sources } from './support/lib-sources.js';

/**
 * Rules of lib/ that no type checker enforces. Each lists the offending places, so a
 * failure says where to look.
 */
const files = sources().map((file) => ({
  file: path.relative(LIB, file),
  lines: readFileSync(file, 'utf8').split('\n'),
}));

describe('lib/ sources', () => {
  it('throw typed errors (RotorError and its classes), never a bare built-in Error', () => {
    // A bare Error has no code and no retry rule: an outcome or a response could only guess both.
    const bare = /\bnew (Error|RangeError|TypeError|SyntaxError)\(/;
    const found = files.flatMap(({ file, lines }) =>
      lines.flatMap((line, i) => (bare.test(line) ? [`${file}:${i + 1}: ${line.trim()}`] : [])),
    );
    expect(found).toEqual([]);
  });

  it('keep every file at 300 lines or fewer (one concept per file)', () => {
    const long = files
      .map(({ file, lines }) => ({ file, count: lines.at(-1) === '' ? lines.length - 1 : lines.length }))
      .filter(({ count }) => count > 300)
      .map(({ file, count }) => `${file}: ${count} lines`);
    expect(long).toEqual([]);
  });

  it('keep the composition root (app.ts) at 100 lines or fewer: it only composes', () => {
    // Issue #11: behaviour that grows inside createApp has no unit test of its own.
    const app = files.find(({ file }) => file === 'app.ts');
    const count = app ? (app.lines.at(-1) === '' ? app.lines.length - 1 : app.lines.length) : 0;
    expect(count).toBeGreaterThan(0);
    expect(count).toBeLessThanOrEqual(100);
  });

  it('keep lib/events/ pure parsers: no HTTP, no auth, no I/O (that is lib/intake/)', () => {
    const impure =
      /from '(node:(http|https|net|fs|fs\/promises|stream)|\.\.\/(intake|host|state|kube|app[^']*|run[^']*)\/?[^']*)'|\bfetch\(|\bprocess\./;
    const found = files
      .filter(({ file }) => file.startsWith(`events${path.sep}`))
      .flatMap(({ file, lines }) =>
        lines.flatMap((line, i) => (impure.test(line) ? [`${file}:${i + 1}: ${line.trim()}`] : [])),
      );
    expect(found).toEqual([]);
  });
});
