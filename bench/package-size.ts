/**
 * Size of the deployable Function App package: what `npm run build` leaves for the zip
 * (host.json, package.json, dist/ with every dependency bundled) plus any production
 * dependency still installed into node_modules (none: everything runs from the bundle).
 *
 *   npx tsx bench/package-size.ts      → bench/results/package-size.json
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

const ROOT = new URL('..', import.meta.url).pathname;

function bytesUnder(path: string): { bytes: number; files: number } {
  const s = statSync(path, { throwIfNoEntry: false });
  if (!s) return { bytes: 0, files: 0 };
  if (!s.isDirectory()) return { bytes: s.size, files: 1 };
  let bytes = 0;
  let files = 0;
  for (const e of readdirSync(path)) {
    const sub = bytesUnder(join(path, e));
    bytes += sub.bytes;
    files += sub.files;
  }
  return { bytes, files };
}

const build = spawnSync(process.execPath, [join(ROOT, 'scripts/build.mjs')], { stdio: 'inherit' });
if (build.status !== 0) process.exit(1);
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  dependencies?: Record<string, string>;
};
const production = Object.keys(pkg.dependencies ?? {});
const parts = {
  'host.json': bytesUnder(join(ROOT, 'host.json')),
  'package.json': bytesUnder(join(ROOT, 'package.json')),
  'dist/': bytesUnder(join(ROOT, 'dist')),
  'node_modules/ (production dependencies)': production
    .map((d) => bytesUnder(join(ROOT, 'node_modules', d)))
    .reduce((a, b) => ({ bytes: a.bytes + b.bytes, files: a.files + b.files }), { bytes: 0, files: 0 }),
};
const total = Object.values(parts).reduce(
  (a, b) => ({ bytes: a.bytes + b.bytes, files: a.files + b.files }),
  {
    bytes: 0,
    files: 0,
  },
);
const result = {
  benchmark: 'package-size',
  date: new Date().toISOString(),
  productionDependencies: production,
  parts,
  bytes: total.bytes,
  files: total.files,
};
await mkdir(new URL('./results/', import.meta.url), { recursive: true });
await writeFile(
  new URL('./results/package-size.json', import.meta.url),
  `${JSON.stringify(result, null, 2)}\n`,
);
console.log(JSON.stringify(result, null, 2));
