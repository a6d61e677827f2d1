import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

interface LockEntry {
  optionalDependencies?: Record<string, string>;
}

/**
 * npm records every optional platform package (Biome's, esbuild's, rolldown's binaries for
 * macOS, Windows, musl...) in the lockfile even where it is not installed. A lockfile
 * written without them is rewritten by the next `npm install` and makes `npm ci` on another
 * platform install no binary at all.
 */
describe('package-lock.json', () => {
  it('lists every optional (platform) package of every locked package', () => {
    const lock = JSON.parse(
      readFileSync(path.resolve(import.meta.dirname, '../../package-lock.json'), 'utf8'),
    ) as { packages: Record<string, LockEntry> };
    const packages = lock.packages;

    const missing = Object.entries(packages).flatMap(([location, entry]) =>
      Object.keys(entry.optionalDependencies ?? {})
        .filter(
          (dep) =>
            !packages[`${location ? `${location}/` : ''}node_modules/${dep}`] &&
            !packages[`node_modules/${dep}`],
        )
        .map((dep) => `${location || '(root)'} -> ${dep}`),
    );

    expect(missing).toEqual([]);
    expect(Object.keys(packages).filter((p) => p.startsWith('node_modules/@biomejs/cli-'))).toHaveLength(10);
  });
});
