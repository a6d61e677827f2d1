import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chown, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { EnvError } from './errors.js';
import { startProcess } from './managed-process.js';
import { freePort } from './ports.js';
import { findPostgresBinDir } from './prereqs.js';
import { makeTempDir, removeTempDir } from './temp-dir.js';
import { waitUntil } from './wait.js';

/**
 * A throw-away PostgreSQL cluster from the machine's binaries: initdb into a temporary
 * folder, the server on a loopback port (and a Unix socket in that folder), password
 * authentication over TCP, durability off for speed, and an empty database `rotor`.
 *
 * PostgreSQL refuses to run as root: as root, the server runs as the `postgres` system
 * user (Debian's package creates it) or, failing that, a `rotortest` system user created
 * on first use.
 */
export interface Postgres {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
  stop(): Promise<void>;
}

const execFileAsync = promisify(execFile);
const SUPERUSER = 'postgres';
const DATABASE = 'rotor';

export async function startPostgres(opts: { readyTimeoutMs?: number } = {}): Promise<Postgres> {
  const bin = await findPostgresBinDir();
  const account = await serverAccount();
  const dir = await makeTempDir('rotor-postgres');
  const data = path.join(dir, 'data');
  const password = randomBytes(18).toString('base64url');
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, LC_ALL: 'C', LANG: 'C' };
  try {
    if (account) await chown(dir, account.uid, account.gid);
    const pwfile = path.join(dir, 'pwfile');
    await writeFile(pwfile, `${password}\n`, { mode: 0o600 });
    if (account) await chown(pwfile, account.uid, account.gid);
    await execFileAsync(
      path.join(bin, 'initdb'),
      ['-D', data, '-U', SUPERUSER, `--pwfile=${pwfile}`, '--auth-local=trust', '--auth-host=scram-sha-256'],
      { cwd: dir, env, uid: account?.uid, gid: account?.gid },
    ).catch((err: { stderr?: string; message: string }) => {
      throw new EnvError(`postgres: initdb failed: ${err.stderr?.trim() || err.message}`, { cause: err });
    });
    await rm(pwfile);
  } catch (err) {
    await removeTempDir(dir);
    throw err;
  }

  const port = await freePort();
  const proc = await startProcess({
    name: 'postgres',
    command: path.join(bin, 'postgres'),
    args: [
      '-D',
      data,
      '-p',
      String(port),
      '-k',
      dir,
      '-c',
      'listen_addresses=127.0.0.1',
      // A test database: speed over durability.
      '-c',
      'fsync=off',
      '-c',
      'synchronous_commit=off',
      '-c',
      'full_page_writes=off',
    ],
    cwd: dir,
    env,
    uid: account?.uid,
    gid: account?.gid,
    logPath: path.join(dir, 'postgres.log'),
    // SIGINT is PostgreSQL's "fast" shutdown: no waiting for clients to disconnect.
    stopSignal: 'SIGINT',
  });
  const stop = async () => {
    await proc.stop();
    await removeTempDir(dir);
  };

  const conn = { host: '127.0.0.1', port, user: SUPERUSER, password };
  const query = async (sql: string) => {
    const client = new pg.Client({ ...conn, database: 'postgres', connectionTimeoutMillis: 2_000 });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
    return true;
  };
  try {
    await waitUntil(() => query('SELECT 1'), {
      what: `password login on 127.0.0.1:${port}`,
      timeoutMs: opts.readyTimeoutMs ?? 120_000,
      process: proc,
    });
    await query(`CREATE DATABASE ${DATABASE}`);
  } catch (err) {
    const tail = await proc.logTail();
    await stop();
    if (err instanceof EnvError) throw err;
    throw new EnvError(`postgres: ${(err as Error).message}\n--- postgres log (last lines) ---\n${tail}`, {
      cause: err,
    });
  }
  return { ...conn, database: DATABASE, stop };
}

/** The account to run the server as, or undefined to run as the current (non-root) user. */
async function serverAccount(): Promise<{ uid: number; gid: number } | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  for (const name of ['postgres', 'rotortest']) {
    const ids = await userIds(name);
    if (ids) return ids;
  }
  await execFileAsync('useradd', [
    '--system',
    '--no-create-home',
    '--shell',
    '/usr/sbin/nologin',
    'rotortest',
  ]).catch(async (err: { stderr?: string }) => {
    // A concurrent run may have created it first.
    if (!(await userIds('rotortest'))) {
      throw new EnvError(
        `postgres: cannot create system user rotortest to run PostgreSQL: ${err.stderr ?? err}`,
      );
    }
  });
  const ids = await userIds('rotortest');
  if (!ids) throw new EnvError('postgres: system user rotortest not found after creating it');
  return ids;
}

async function userIds(name: string): Promise<{ uid: number; gid: number } | undefined> {
  try {
    const [uid, gid] = await Promise.all([
      execFileAsync('id', ['-u', name]).then((r) => Number(r.stdout.trim())),
      execFileAsync('id', ['-g', name]).then((r) => Number(r.stdout.trim())),
    ]);
    return { uid, gid };
  } catch {
    return undefined;
  }
}
