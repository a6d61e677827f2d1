/**
 * Test servers built from Go modules of the project (test/env/<name>/: go.mod, go.sum,
 * main.go; or a sub-package or required command of such a module) into `.cache/bin/<name>`, once, and rebuilt only when their sources or build
 * flags change. Several vitest processes may share one checkout: one builds, the others
 * wait on a file lock. Go's own module and build caches make a rebuild after a source
 * change take seconds to minutes instead of a cold build's many minutes.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { EnvError } from './errors.js';
import { withFileLock } from './file-lock.js';
import { CACHE_DIR, REPO_ROOT } from './paths.js';

export interface GoBinarySpec {
  /** Name of the binary in .cache/bin, and its folder under test/env unless `dir` says otherwise. */
  name: string;
  /** The module folder under test/env, when several binaries come from one module. */
  dir?: string;
  /** What to build, in that folder: '.' (default), a sub-package, or an import path the module requires. */
  pkg?: string;
  /** `go build` arguments before `-o`; part of the cache key. */
  buildArgs: readonly string[];
  /** Files of the folder that make up the source; part of the cache key. */
  sourceFiles?: readonly string[];
  /** A cold build on 2 busy cores takes many minutes; waiters give it this long. */
  lockTimeoutMs?: number;
}

const CACHE_BIN_DIR = path.join(CACHE_DIR, 'bin');
const DEFAULT_SOURCES = ['go.mod', 'go.sum', 'main.go'];

export function goBinaryPath(name: string): string {
  return path.join(CACHE_BIN_DIR, name);
}

const ensuring = new Map<string, Promise<string>>();

/** Builds `.cache/bin/<name>` if it is missing or its sources changed; returns its path. */
export function ensureGoBinary(spec: GoBinarySpec): Promise<string> {
  let p = ensuring.get(spec.name);
  if (!p) {
    p = ensure(spec).finally(() => ensuring.delete(spec.name));
    ensuring.set(spec.name, p);
  }
  return p;
}

async function ensure(spec: GoBinarySpec): Promise<string> {
  const binary = goBinaryPath(spec.name);
  const stamp = `${binary}.sha256`;
  const hash = await sourceHash(spec);
  if (await isCurrent(binary, stamp, hash)) return binary;
  await mkdir(CACHE_BIN_DIR, { recursive: true });
  return withFileLock(
    `${binary}.lock`,
    async () => {
      if (await isCurrent(binary, stamp, hash)) return binary; // another process built it meanwhile
      await build(spec, binary);
      await writeFile(stamp, `${hash}\n`);
      return binary;
    },
    spec.lockTimeoutMs ?? 30 * 60_000,
  );
}

function sourceDir(spec: GoBinarySpec): string {
  return path.join(REPO_ROOT, 'test', 'env', spec.dir ?? spec.name);
}

async function sourceHash(spec: GoBinarySpec): Promise<string> {
  const h = createHash('sha256');
  h.update(JSON.stringify(spec.pkg === undefined ? spec.buildArgs : [spec.buildArgs, spec.pkg]));
  for (const f of spec.sourceFiles ?? DEFAULT_SOURCES) {
    h.update(`\0${f}\0`);
    h.update(await readFile(path.join(sourceDir(spec), f)));
  }
  return h.digest('hex');
}

async function isCurrent(binary: string, stamp: string, hash: string): Promise<boolean> {
  try {
    const [text, bin] = await Promise.all([readFile(stamp, 'utf8'), stat(binary)]);
    return text.trim() === hash && bin.isFile();
  } catch {
    return false;
  }
}

async function build(spec: GoBinarySpec, binary: string): Promise<void> {
  const tmp = `${binary}.tmp-${process.pid}`;
  const logPath = `${binary}.build.log`;
  const log = await open(logPath, 'w');
  const started = Date.now();
  try {
    const code = await new Promise<number | null>((resolve, reject) => {
      // nice: a cold build takes both cores for minutes; the tests beside it stay responsive.
      const child = spawn('nice', ['-n', '10', 'go', ...spec.buildArgs, '-o', tmp, spec.pkg ?? '.'], {
        cwd: sourceDir(spec),
        env: { ...process.env, GOWORK: 'off', CGO_ENABLED: process.env.CGO_ENABLED ?? '0' },
        stdio: ['ignore', log.fd, log.fd],
      });
      child.on('error', reject);
      child.on('exit', resolve);
    });
    if (code !== 0) {
      await rm(tmp, { force: true });
      // nice exits 127 when it cannot find the command.
      if (code === 127)
        throw new EnvError("rotor test env: 'go' not found — install Go 1.26+ and put it on PATH");
      const text = await readFile(logPath, 'utf8').catch(() => '');
      const tail = text.split('\n').slice(-40).join('\n');
      throw new EnvError(`rotor test env: building ${spec.name} failed (exit ${code}); ${logPath}:\n${tail}`);
    }
    await rename(tmp, binary);
    await log.write(`built in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  } finally {
    await log.close();
  }
}
