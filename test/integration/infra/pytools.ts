/**
 * The Python tools of the offline infrastructure checks — checkov and pycep-parser from PyPI —
 * in a virtual environment under .cache/, keyed by the hash of the pinned requirements and the
 * interpreter's version. The first run installs (about two minutes); later runs reuse it.
 * A lock file keeps parallel test workers from installing twice.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, open, readdir, readFile, rm, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { EnvError } from '../../env/errors.js';
import { CACHE_DIR } from '../../env/paths.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REQUIREMENTS = path.join(HERE, 'requirements.txt');
const VENV_PREFIX = 'pyinfra-venv-';
const READY_STAMP = '.rotor-ready';
const INSTALL_TIMEOUT_MS = 15 * 60_000;

export interface PyTools {
  /** The venv's python. */
  python: string;
  /** The venv's checkov entry point. */
  checkov: string;
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

let ensuring: Promise<PyTools> | undefined;

/** Returns the cached venv's tools, installing them first when missing or stale. */
export function ensurePyTools(): Promise<PyTools> {
  ensuring ??= prepare().catch((error: unknown) => {
    ensuring = undefined;
    throw error;
  });
  return ensuring;
}

/** Runs a command to completion, capturing its output (never through a shell). */
export function run(
  command: string,
  args: readonly string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    child.on('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(
        error.code === 'ENOENT' ? new EnvError(`'${command}' not found on PATH`, { cause: error }) : error,
      );
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({
        code,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      });
    });
  });
}

async function prepare(): Promise<PyTools> {
  const interpreter = process.env.ROTOR_PYTHON ?? 'python3';
  const version = await pythonVersion(interpreter);
  const hash = createHash('sha256')
    .update(version)
    .update('\0')
    .update(await readFile(REQUIREMENTS))
    .digest('hex')
    .slice(0, 16);
  const venv = path.join(CACHE_DIR, `${VENV_PREFIX}${hash}`);
  const tools: PyTools = {
    python: path.join(venv, 'bin', 'python'),
    checkov: path.join(venv, 'bin', 'checkov'),
  };
  if (await isReady(venv, hash)) return tools;

  await mkdir(CACHE_DIR, { recursive: true });
  const release = await acquireLock(`${venv}.lock`);
  try {
    if (await isReady(venv, hash)) return tools; // another worker finished meanwhile
    await install(interpreter, venv);
    await writeFile(path.join(venv, READY_STAMP), `${hash}\n`);
    await pruneOtherVenvs(path.basename(venv));
    return tools;
  } finally {
    await release();
  }
}

async function pythonVersion(interpreter: string): Promise<string> {
  const res = await run(interpreter, ['-c', 'import sys; print("%d.%d.%d" % sys.version_info[:3])']);
  const version = res.stdout.trim();
  const [major = 0, minor = 0] = version.split('.').map(Number);
  if (res.code !== 0 || major !== 3 || minor < 9) {
    throw new EnvError(
      `checkov needs CPython >= 3.9; '${interpreter}' reports '${version || res.stderr.trim()}' (set ROTOR_PYTHON)`,
    );
  }
  return version;
}

async function isReady(venv: string, hash: string): Promise<boolean> {
  try {
    return (await readFile(path.join(venv, READY_STAMP), 'utf8')).trim() === hash;
  } catch {
    return false;
  }
}

async function install(interpreter: string, venv: string): Promise<void> {
  await rm(venv, { recursive: true, force: true });
  const log = `${venv}.install.log`;
  const steps: [string, string[]][] = [
    [interpreter, ['-m', 'venv', venv]],
    [
      path.join(venv, 'bin', 'python'),
      [
        '-m',
        'pip',
        'install',
        '--disable-pip-version-check',
        '--no-input',
        '--no-cache-dir',
        '-r',
        REQUIREMENTS,
      ],
    ],
  ];
  const transcript: string[] = [];
  for (const [command, args] of steps) {
    const res = await run(command, args, { timeoutMs: INSTALL_TIMEOUT_MS });
    transcript.push(`$ ${command} ${args.join(' ')}\n${res.stdout}${res.stderr}`);
    await writeFile(log, transcript.join('\n'));
    if (res.code !== 0) {
      await rm(venv, { recursive: true, force: true });
      throw new EnvError(
        `installing checkov/pycep-parser failed (exit ${res.code}); see ${log}:\n${res.stderr.split('\n').slice(-20).join('\n')}`,
      );
    }
  }
}

/** Old venvs (a previous requirements hash) are 300 MB each: keep only the current one. */
async function pruneOtherVenvs(keep: string): Promise<void> {
  for (const name of await readdir(CACHE_DIR)) {
    if (name.startsWith(VENV_PREFIX) && name !== keep && !name.endsWith('.lock') && !name.endsWith('.log')) {
      const lockHeld = await stat(path.join(CACHE_DIR, `${name}.lock`)).then(
        () => true,
        () => false,
      );
      if (!lockHeld) await rm(path.join(CACHE_DIR, name), { recursive: true, force: true });
    }
  }
}

/** An exclusive lock file holding the owner's pid; a lock whose owner died is taken over. */
async function acquireLock(lockPath: string): Promise<() => Promise<void>> {
  const deadline = Date.now() + INSTALL_TIMEOUT_MS;
  for (;;) {
    try {
      const handle = await open(lockPath, 'wx');
      await handle.writeFile(String(process.pid));
      await handle.close();
      return () => unlink(lockPath).catch(() => undefined);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const owner = Number.parseInt(await readFile(lockPath, 'utf8').catch(() => ''), 10);
    if (Number.isInteger(owner) && owner > 0 && !isAlive(owner)) {
      await unlink(lockPath).catch(() => undefined);
      continue;
    }
    if (Date.now() > deadline) throw new EnvError(`timed out waiting for ${lockPath} (held by pid ${owner})`);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
