import { EnvError } from './errors.js';
import type { ManagedProcess } from './managed-process.js';

export interface WaitOptions {
  /** What is awaited, for the error message ("OpenBao /v1/sys/health answers 200"). */
  what: string;
  timeoutMs: number;
  intervalMs?: number;
  /** The server process: its exit ends the wait at once, and its log tail goes in the error. */
  process?: ManagedProcess;
}

/**
 * Polls `probe` until it returns a value other than `undefined`. Errors thrown by the
 * probe count as "not yet" and the last one is reported if time runs out.
 */
export async function waitUntil<T>(probe: () => Promise<T | undefined>, opts: WaitOptions): Promise<T> {
  const deadline = Date.now() + opts.timeoutMs;
  const interval = opts.intervalMs ?? 100;
  let last = '';
  for (;;) {
    const exit = opts.process?.exitInfo();
    if (exit) {
      throw await failure(opts, `exited (code ${exit.code}, signal ${exit.signal}) before ${opts.what}`);
    }
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    if (Date.now() > deadline) {
      const suffix = last ? `; last error: ${last}` : '';
      throw await failure(opts, `not ready after ${opts.timeoutMs / 1000} s: ${opts.what}${suffix}`);
    }
    await sleep(interval);
  }
}

async function failure(opts: WaitOptions, message: string): Promise<EnvError> {
  const proc = opts.process;
  if (!proc) return new EnvError(message);
  const tail = await proc.logTail(30);
  return new EnvError(`${proc.name}: ${message}\n--- ${proc.logPath} (last lines) ---\n${tail}`);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
