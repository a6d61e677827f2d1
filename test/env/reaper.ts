import { type ChildProcess, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';

/**
 * Guarantees that no server outlives the process that started it, however that process
 * ends (normal exit, uncaught error, SIGKILL of a test runner).
 *
 * Every server runs in its own process group. A small detached watchdog process holds
 * the list of those groups (and of the servers' temporary folders) and is fed through a
 * pipe; when the pipe closes (the parent is gone, for whatever reason) it terminates
 * every group still listed and removes the folders. A synchronous `exit` hook covers the
 * ordinary case without waiting for the watchdog.
 */
const WATCHDOG_SOURCE = `
const fs = require('node:fs');
const groups = new Set();
const dirs = new Set();
let buffered = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  buffered += chunk;
  const lines = buffered.split('\\n');
  buffered = lines.pop();
  for (const line of lines) {
    const m = JSON.parse(line);
    const set = m.pid !== undefined ? groups : dirs;
    const item = m.pid !== undefined ? m.pid : m.dir;
    if (m.op === '+') set.add(item); else set.delete(item);
  }
});
const signal = (sig) => { for (const pid of groups) { try { process.kill(-pid, sig); } catch {} } };
const removeDirs = () => { for (const d of dirs) { try { fs.rmSync(d, { recursive: true, force: true }); } catch {} } };
process.stdin.on('end', () => {
  signal('SIGTERM');
  const deadline = Date.now() + 3000;
  const alive = () => [...groups].some((pid) => { try { process.kill(-pid, 0); return true; } catch { return false; } });
  const tick = () => {
    const running = alive();
    if (running && Date.now() < deadline) return setTimeout(tick, 100);
    if (running) signal('SIGKILL');
    setTimeout(() => { removeDirs(); process.exit(0); }, running ? 200 : 0);
  };
  tick();
});
process.on('SIGINT', () => {});
process.on('SIGTERM', () => {});
`;

let watchdog: ChildProcess | undefined;
const tracked = new Set<number>();
const trackedDirs = new Set<string>();
let exitHookInstalled = false;

function send(message: { op: '+' | '-'; pid?: number; dir?: string }): void {
  if (!watchdog) {
    watchdog = spawn(process.execPath, ['-e', WATCHDOG_SOURCE], {
      detached: true,
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    watchdog.unref();
    // An unref'd pipe still delivers writes but no longer keeps the parent alive.
    (watchdog.stdin as unknown as { unref?: () => void }).unref?.();
    watchdog.stdin?.on('error', () => {});
  }
  watchdog.stdin?.write(`${JSON.stringify(message)}\n`);
}

/** Registers a process group (the pid of a child spawned with `detached: true`). */
export function trackProcessGroup(pid: number): void {
  tracked.add(pid);
  send({ op: '+', pid });
  installExitHook();
}

export function untrackProcessGroup(pid: number): void {
  if (tracked.delete(pid)) send({ op: '-', pid });
}

/** A temporary folder to remove if the owner dies without cleaning up. */
export function trackDirectory(dir: string): void {
  trackedDirs.add(dir);
  send({ op: '+', dir });
  installExitHook();
}

export function untrackDirectory(dir: string): void {
  if (trackedDirs.delete(dir)) send({ op: '-', dir });
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const group of tracked) killGroup(group, 'SIGKILL');
    for (const dir of trackedDirs) rmSync(dir, { recursive: true, force: true });
  });
}

/** Signals a whole process group; a group that is already gone is not an error. */
export function killGroup(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false;
  }
}
