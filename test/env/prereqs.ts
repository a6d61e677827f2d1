import { execFile } from 'node:child_process';
import { access, constants, readdir } from 'node:fs/promises';
import path from 'node:path';
import { EnvError } from './errors.js';

/**
 * Tools the test environment needs on the machine. Each missing one is reported on one
 * line naming it and how to install it; all of them at once.
 */
export type Prerequisite = 'go' | 'python' | 'postgres' | 'openssl';

const MIN_GO = [1, 26] as const; // KWOK v0.8.0 needs Go 1.26

/** Throws one EnvError listing every missing prerequisite. */
export async function checkPrerequisites(needed: readonly Prerequisite[]): Promise<void> {
  const problems = (await Promise.all(needed.map((p) => CHECKS[p]()))).filter(
    (p): p is string => p !== undefined,
  );
  if (problems.length > 0) {
    throw new EnvError(`rotor test environment: missing prerequisites\n${problems.join('\n')}`);
  }
}

const CHECKS: Record<Prerequisite, () => Promise<string | undefined>> = {
  go: checkGo,
  python: checkPython,
  postgres: async () => {
    try {
      await findPostgresBinDir();
      return undefined;
    } catch (err) {
      return (err as Error).message;
    }
  },
  openssl: async () =>
    (await run('openssl', ['version'])) === undefined
      ? 'openssl not found: install it (apt-get install openssl)'
      : undefined,
};

async function checkGo(): Promise<string | undefined> {
  const out = await run('go', ['version']);
  const hint = `install Go ${MIN_GO.join('.')}+ and put its bin folder on PATH (e.g. /usr/local/go/bin)`;
  if (out === undefined) return `go not found: ${hint}`;
  const m = /go(\d+)\.(\d+)/.exec(out);
  const [major, minor] = [Number(m?.[1] ?? 0), Number(m?.[2] ?? 0)];
  if (major < MIN_GO[0] || (major === MIN_GO[0] && minor < MIN_GO[1])) {
    return `go too old (${out.trim()}): ${hint}`;
  }
  return undefined;
}

async function checkPython(): Promise<string | undefined> {
  if ((await run('python3', ['--version'])) === undefined) {
    return 'python3 not found: install Python 3.9+ (apt-get install python3 python3-venv)';
  }
  // Debian splits venv/ensurepip into python3-venv; without it `python3 -m venv` fails.
  if ((await run('python3', ['-c', 'import venv, ensurepip'])) === undefined) {
    return 'python3 venv support not found: install it (apt-get install python3-venv)';
  }
  return undefined;
}

/**
 * Folder holding initdb and postgres: PATH first, else the newest Debian
 * /usr/lib/postgresql/<version>/bin.
 */
export async function findPostgresBinDir(): Promise<string> {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter).filter(Boolean)) {
    if ((await isExecutable(path.join(dir, 'initdb'))) && (await isExecutable(path.join(dir, 'postgres')))) {
      return dir;
    }
  }
  const root = '/usr/lib/postgresql';
  const versions = (await readdir(root).catch(() => [] as string[]))
    .filter((v) => /^\d+$/.test(v))
    .sort((a, b) => Number(b) - Number(a));
  for (const v of versions) {
    const dir = path.join(root, v, 'bin');
    if ((await isExecutable(path.join(dir, 'initdb'))) && (await isExecutable(path.join(dir, 'postgres')))) {
      return dir;
    }
  }
  throw new EnvError(
    'postgres (initdb, postgres) not found: install PostgreSQL (apt-get install postgresql)',
  );
}

async function isExecutable(file: string): Promise<boolean> {
  try {
    await access(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** stdout of a successful command, or undefined if it is missing or fails. */
function run(command: string, args: string[]): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile(command, args, { timeout: 20_000 }, (err, stdout) => resolve(err ? undefined : stdout));
  });
}
