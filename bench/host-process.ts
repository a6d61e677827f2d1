/** rotor's host as a child process, for benchmarks that measure it alone (its memory, its answers). */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = new URL('..', import.meta.url).pathname;

/** The child host's key (ROTOR_HOST_KEY), so no key file is written. */
export const HOST_KEY = randomBytes(24).toString('base64url');

/** Compiled output (dist/) when built, else TypeScript through tsx. */
export const BUILT = existsSync(join(ROOT, 'dist/lib/host/main.js'));

/** The host with `configJson`, listening on `port`: dist/ when built by then, else through tsx. */
export function spawnHost(port: number, configJson: string, env: Record<string, string> = {}): ChildProcess {
  const args = existsSync(join(ROOT, 'dist/lib/host/main.js'))
    ? [join(ROOT, 'dist/lib/host/main.js')]
    : ['--import', 'tsx', join(ROOT, 'lib/host/main.ts')];
  return spawn(process.execPath, args, {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'inherit'],
    env: {
      PATH: process.env.PATH,
      PORT: String(port),
      ROTOR_CONFIG_JSON: configJson,
      ROTOR_LOG_LEVEL: 'warn',
      ROTOR_HOST_KEY: HOST_KEY,
      ...env,
    },
  });
}

/** VmHWM (peak) or VmRSS (now) of a process, in bytes. */
export function rssOf(pid: number | undefined, which: 'VmHWM' | 'VmRSS' = 'VmHWM'): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(new RegExp(`${which}:\\s+(\\d+) kB`).exec(status)?.[1] ?? '0');
  return kb * 1024;
}

export async function waitUntil(
  check: () => Promise<boolean>,
  timeoutMs = 60_000,
  pollMs = 20,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('host did not become ready');
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

/**
 * The configuration as the child reads it (ROTOR_CONFIG_JSON): secret-bearing values in
 * clear, since their JSON form is `***` by design.
 */
export function revealedJson(config: unknown): string {
  return JSON.stringify(revealed(config));
}

function revealed(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(revealed);
  if (value && typeof value === 'object') {
    const v = value as { reveal?: () => unknown };
    if (typeof v.reveal === 'function') return v.reveal();
    return Object.fromEntries(Object.entries(value).map(([k, x]) => [k, revealed(x)]));
  }
  return value;
}
