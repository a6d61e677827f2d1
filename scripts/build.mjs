#!/usr/bin/env node
// `npm run build`: bundles the Functions app (functions/index.ts), the local host and the CLI with
// esbuild into dist/. Every dependency is inside the bundle, so the deployable package is
// host.json + package.json + dist/ (no node_modules). SDKs that only some configurations
// need are imported dynamically in lib/ and land in chunks of their own, loaded on first use.
// `npm start` calls ensureBuilt() and rebuilds only when a source changed.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const DIST = join(ROOT, 'dist');
const STAMP = join(DIST, '.sources.sha256');
const SOURCE_DIRS = ['lib', 'functions'];
const SOURCE_FILES = ['package-lock.json', 'scripts/build.mjs'];

/**
 * Entry points, named by their path under dist/. The Functions app's is functions/index.ts
 * (package.json "main"), which registers every trigger; the other files there only export handlers.
 */
function entryPoints() {
  return {
    'functions/index': join(ROOT, 'functions', 'index.ts'),
    'lib/host/main': join(ROOT, 'lib/host/main.ts'),
    'lib/cli': join(ROOT, 'lib/cli.ts'),
  };
}

function sourceFiles() {
  const out = [];
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts')) out.push(p);
    }
  };
  for (const d of SOURCE_DIRS) walk(join(ROOT, d));
  return [...out.sort(), ...SOURCE_FILES.map((f) => join(ROOT, f))];
}

/** Path, size and mtime of every source: cheap enough to check on every `npm start`. */
function sourcesHash() {
  const h = createHash('sha256');
  for (const f of sourceFiles()) {
    const s = statSync(f, { throwIfNoEntry: false });
    h.update(`${relative(ROOT, f)}\0${s?.size ?? -1}\0${s?.mtimeMs ?? -1}\n`);
  }
  return h.digest('hex');
}

// CommonJS dependencies inside an ESM bundle still call require() and read __dirname.
const BANNER = [
  "import { createRequire as __rotorCreateRequire } from 'node:module';",
  "import { fileURLToPath as __rotorFileURLToPath } from 'node:url';",
  "import { dirname as __rotorDirname } from 'node:path';",
  'const require = __rotorCreateRequire(import.meta.url);',
  'const __filename = __rotorFileURLToPath(import.meta.url);',
  'const __dirname = __rotorDirname(__filename);',
].join(' ');

/** The esbuild options of `npm run build` (tests bundle with them too, into memory). */
export function buildOptions() {
  return {
    absWorkingDir: ROOT,
    entryPoints: entryPoints(),
    outdir: DIST,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    outExtension: { '.js': '.js' },
    chunkNames: 'chunks/[name]-[hash]',
    minify: true,
    keepNames: true,
    sourcemap: 'linked',
    legalComments: 'linked',
    banner: { js: BANNER },
    metafile: true,
    logLevel: 'warning',
    // Provided by the Functions worker at run time; optional native add-ons nobody installs.
    external: ['@azure/functions-core', 'pg-native', 'bufferutil', 'utf-8-validate'],
  };
}

/** Every source file an output loads before it runs: its static imports, transitively (not import()). */
export function staticInputs(metafile, output) {
  const seen = new Set();
  const inputs = new Set();
  const visit = (o) => {
    if (seen.has(o)) return;
    seen.add(o);
    for (const i of Object.keys(metafile.outputs[o]?.inputs ?? {})) inputs.add(i);
    for (const i of metafile.outputs[o]?.imports ?? [])
      if (i.kind === 'import-statement' && !i.external) visit(i.path);
  };
  visit(output);
  return [...inputs];
}

export async function build({ log = console.log } = {}) {
  const started = performance.now();
  const { build: esbuild } = await import('esbuild');
  rmSync(DIST, { recursive: true, force: true });
  const result = await esbuild(buildOptions());
  mkdirSync(join(ROOT, '.cache'), { recursive: true });
  writeFileSync(join(ROOT, '.cache', 'build-meta.json'), JSON.stringify(result.metafile));
  writeFileSync(STAMP, `${sourcesHash()}\n`);
  log(`rotor: built dist/ in ${Math.round(performance.now() - started)} ms`);
  return result;
}

/** Builds unless dist/ was built from exactly the current sources. */
export async function ensureBuilt(options) {
  const current = existsSync(STAMP) && readFileSync(STAMP, 'utf8').trim() === sourcesHash();
  if (!current) await build(options);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await build();
}
