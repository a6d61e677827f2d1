import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { EnvError } from './errors.js';
import { killGroup, trackProcessGroup, untrackProcessGroup } from './reaper.js';

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A server process with its output in a log file, stoppable with its whole process group. */
export interface ManagedProcess {
  readonly name: string;
  readonly pid: number;
  readonly logPath: string;
  /** Set once the process has exited. */
  exitInfo(): ExitInfo | undefined;
  readonly exited: Promise<ExitInfo>;
  logTail(lines?: number): Promise<string>;
  /** Polite signal, then SIGKILL after the grace period; idempotent. */
  stop(): Promise<void>;
}

export interface StartProcessOptions {
  /** Short label used in messages ("openbao"). */
  name: string;
  command: string;
  args: readonly string[];
  logPath: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Run as another user (requires root): PostgreSQL refuses to run as root. */
  uid?: number;
  gid?: number;
  stopSignal?: NodeJS.Signals;
  stopGraceMs?: number;
  /** What to tell the user when the command is not installed. */
  installHint?: string;
}

/** A server that exited without having been asked to stop. */
export interface UnexpectedExit extends ExitInfo {
  name: string;
  pid: number;
  logPath: string;
}

const deathListeners = new Set<(exit: UnexpectedExit) => void>();

/**
 * Calls `listener` whenever a server started by startProcess exits without its stop() having
 * been called (it crashed, or was killed from outside), so whoever keeps servers running
 * (`npm run sandbox`) can stop the rest and say which died. Returns the unsubscribe.
 */
export function onUnexpectedExit(listener: (exit: UnexpectedExit) => void): () => void {
  deathListeners.add(listener);
  return () => void deathListeners.delete(listener);
}

export async function startProcess(opts: StartProcessOptions): Promise<ManagedProcess> {
  const logFd = openSync(opts.logPath, 'a');
  let child: ReturnType<typeof spawn>;
  try {
    child = spawn(opts.command, opts.args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      uid: opts.uid,
      gid: opts.gid,
      // Own process group: the whole tree can be signalled, and a Ctrl-C meant for the
      // test runner does not kill servers before their orderly stop.
      detached: true,
      stdio: ['ignore', logFd, logFd],
    });
  } finally {
    closeSync(logFd);
  }

  let exitInfo: ExitInfo | undefined;
  let stopping: Promise<void> | undefined;
  const exited = new Promise<ExitInfo>((resolve) => {
    child.once('exit', (code, signal) => {
      exitInfo = { code, signal };
      resolve(exitInfo);
      if (!stopping) {
        const died = { name: opts.name, pid: child.pid as number, logPath: opts.logPath, code, signal };
        for (const listener of deathListeners) listener(died);
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', (err: NodeJS.ErrnoException) => {
      const hint = opts.installHint ? `: ${opts.installHint}` : '';
      reject(
        err.code === 'ENOENT'
          ? new EnvError(`${opts.name}: ${opts.command} not found${hint}`, { cause: err })
          : new EnvError(`${opts.name}: cannot start ${opts.command}: ${err.message}`, { cause: err }),
      );
    });
  });

  const pid = child.pid as number;
  trackProcessGroup(pid);
  const grace = opts.stopGraceMs ?? 5_000;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (!exitInfo) {
        killGroup(pid, opts.stopSignal ?? 'SIGTERM');
        const timer = new Promise<'timeout'>((resolve) =>
          setTimeout(() => resolve('timeout'), grace).unref(),
        );
        if ((await Promise.race([exited, timer])) === 'timeout') killGroup(pid, 'SIGKILL');
        await exited;
      }
      // Anything the server forked and left behind in its group goes too.
      killGroup(pid, 'SIGKILL');
      untrackProcessGroup(pid);
    })();
    return stopping;
  };

  return {
    name: opts.name,
    pid,
    logPath: opts.logPath,
    exitInfo: () => exitInfo,
    exited,
    logTail: (lines) => tailFile(opts.logPath, lines),
    stop,
  };
}

export async function tailFile(file: string, lines = 30): Promise<string> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}
