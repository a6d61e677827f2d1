import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { EnvError } from './errors.js';

/**
 * An in-process service (a stand-in server, the operator stand-ins) run in a Node child
 * process of its own instead: `start` is the name of a function exported by `module` that
 * takes plain-data options and resolves with plain data plus `stop()`. The child talks to
 * its parent over IPC only (options in, the started value out, nothing on the command line
 * or in the environment), and exits when the channel closes: the parent stopping it, or
 * the parent gone (even by SIGKILL), so it never outlives the process that started it.
 *
 * Used by the benchmarks: in production the operators and Key Vault run elsewhere, so their
 * CPU and event-loop time must not be charged to the process that runs rotor.
 */
export interface ChildService<T> {
  readonly value: T;
  readonly pid: number;
  /** A message to the running service (its `channel.onMessage`). */
  send(data: unknown): void;
  stop(): Promise<void>;
}

/**
 * The second argument of a service's start function: messages to and from its parent after
 * it started (a service that streams what it sees, e.g. the bench's remote observer).
 */
export interface ChildChannel {
  send(data: unknown): void;
  onMessage(listener: (data: unknown) => void): void;
}

/** Messages over the channel (child-service-main.ts is the other end). */
export type ChildRequest =
  | { type: 'start'; module: string; start: string; options: unknown }
  | { type: 'message'; data: unknown }
  | { type: 'stop' };
export type ChildReply =
  | { type: 'started'; value: unknown }
  | { type: 'failed'; message: string }
  | { type: 'message'; data: unknown };

const MAIN = fileURLToPath(new URL('./child-service-main.ts', import.meta.url));

export async function startChildService<T>(
  name: string,
  module: URL,
  start: string,
  options: unknown,
  { timeoutMs = 120_000, onMessage }: { timeoutMs?: number; onMessage?: (data: unknown) => void } = {},
): Promise<ChildService<T>> {
  const child = fork(MAIN, [], {
    // tsx resolved here; the caller's own flags (--cpu-prof, --inspect) are not passed on.
    execArgv: ['--import', import.meta.resolve('tsx')],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.on('message', (m: ChildReply) => {
    if (m.type === 'message') onMessage?.(m.data);
  });
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    if (child.connected) child.send({ type: 'stop' } satisfies ChildRequest);
    const killed = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(killed);
  };
  try {
    const value = await new Promise<T>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new EnvError(`${name}: not started within ${timeoutMs} ms`)),
        timeoutMs,
      );
      const answer = (m: ChildReply) => {
        if (m.type === 'message') return;
        child.off('message', answer);
        clearTimeout(timer);
        if (m.type === 'started') resolve(m.value as T);
        else reject(new EnvError(`${name}: ${m.message}`));
      };
      child.on('message', answer);
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new EnvError(`${name}: exited (code ${code}, signal ${signal}) before it started`));
      });
      child.send({ type: 'start', module: module.href, start, options } satisfies ChildRequest);
    });
    const send = (data: unknown) => {
      if (child.connected) child.send({ type: 'message', data } satisfies ChildRequest);
    };
    return { value, pid: child.pid as number, send, stop };
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
}
