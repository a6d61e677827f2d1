import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { type ExitInfo, type ManagedProcess, startProcess } from './managed-process.js';
import { REPO_ROOT } from './paths.js';
import { makeTempDir, removeTempDir } from './temp-dir.js';
import { waitUntil } from './wait.js';

/**
 * rotor's local host as its own process (`node lib/host/main.ts` through tsx, as `rotor serve`
 * runs it), for tests that signal or kill it. A restart may keep the port and the key, as a
 * restarted instance behind the same Event Grid subscription URL.
 */
export interface HostProcess {
  readonly url: string;
  readonly key: string;
  readonly pid: number;
  readonly exited: Promise<ExitInfo>;
  /** Everything the host wrote (JSON log lines), so far. */
  log(): Promise<string>;
  signal(signal: NodeJS.Signals): void;
  /** Stops it (SIGTERM, then SIGKILL) and removes its folder. */
  stop(): Promise<void>;
}

export interface HostProcessOptions {
  /** The configuration document (ROTOR_CONFIG_JSON). */
  config: Record<string, unknown>;
  /** Extra app settings (ROTOR_SHUTDOWN_GRACE_MS, ...). */
  settings?: Record<string, string>;
  /**
   * Default: one the host picks as it listens (PORT=0), read back from its log: a port chosen
   * beforehand could be taken by another process during the seconds tsx takes to start on a
   * loaded machine. A restart passes the previous host's.
   */
  port?: number;
  key?: string;
}

export async function startHostProcess(options: HostProcessOptions): Promise<HostProcess> {
  const key = options.key ?? randomBytes(24).toString('base64url');
  const dir = await makeTempDir('rotor-host');
  const logPath = path.join(dir, 'host.log');
  let proc: ManagedProcess | undefined;
  let url = '';
  const stop = async () => {
    await proc?.stop();
    await removeTempDir(dir);
  };
  try {
    proc = await startProcess({
      name: 'rotor host',
      command: process.execPath,
      // tsx resolved here: the host runs in its own folder, where no node_modules is.
      args: ['--import', import.meta.resolve('tsx'), path.join(REPO_ROOT, 'lib', 'host', 'main.ts')],
      cwd: dir,
      logPath,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        PORT: String(options.port ?? 0),
        ROTOR_HOST_KEY: key,
        ROTOR_CONFIG_JSON: JSON.stringify(options.config),
        ROTOR_LOG_LEVEL: 'info',
        ...options.settings,
      },
      stopSignal: 'SIGTERM',
      stopGraceMs: 15_000,
    });
    const started = proc;
    url = await waitUntil(async () => listeningUrl(await readFile(logPath, 'utf8')), {
      what: `rotor host on port ${options.port ?? '(any)'} listening`,
      timeoutMs: 60_000,
      intervalMs: 50,
      process: started,
    });
  } catch (error) {
    await stop();
    throw error;
  }
  const running = proc;
  return {
    url,
    key,
    pid: running.pid,
    exited: running.exited,
    log: () => readFile(logPath, 'utf8').catch(() => ''),
    signal: (signal) => {
      if (!running.exitInfo()) process.kill(running.pid, signal);
    },
    stop,
  };
}

/** The URL of the host's "rotor host listening" log line (JSON), once it is written. */
function listeningUrl(log: string): string | undefined {
  for (const line of log.split('\n')) {
    if (!line.includes('rotor host listening')) continue;
    const { url } = JSON.parse(line) as { url?: string };
    if (url) return url;
  }
  return undefined;
}
