/**
 * The bench's watches in a child process of their own. In the bench process they share the
 * event loop with rotor, so a change rotor is busy with (the ExternalSecret it just forced,
 * the Deployment it just patched) is seen as late as rotor lets the loop go, and that delay
 * is charged to rotor's overhead. In production nothing else runs in rotor's process; a
 * child process sees each change as the API server sends it.
 *
 * Times cross processes as wall-clock instants (performance.timeOrigin + now()), turned back
 * into the parent's performance.now() with an offset measured by ping-pong before the run
 * (the exchange with the shortest round trip; its half round trip bounds the error).
 *
 * ROTOR_BENCH_OBSERVER=in-process runs the watches in the bench process, as before.
 */
import { KubeConfig } from '@kubernetes/client-node';
import { type ChildChannel, startChildService } from '../test/env/child-service.js';
import { ChangeWatch, FINGERPRINTS, type Fingerprint } from './observer.js';

/** One object (`name`), or every object under the path. */
export interface WatchSpec {
  path: string;
  name?: string;
  fingerprint: Fingerprint;
}

export interface Observer<K extends string> {
  readonly watches: Record<K, Observed>;
  readonly where: string;
  /** Bound of the cross-process clock error, ms (0 in process). */
  readonly clockErrorMs: number;
  /** The child's, for the burst's CPU table; undefined in process. */
  readonly pid?: number;
  stop(): Promise<void>;
}

type Down = { ping: number };
type Up = { pong: number; at: number } | { key: string; name: string; at: number };

const wallNow = () => performance.timeOrigin + performance.now();

export async function startObserver<K extends string>(
  kubeconfig: string,
  specs: Record<K, WatchSpec>,
): Promise<Observer<K>> {
  const watches = mapValues(specs, () => new Observed());
  if (process.env.ROTOR_BENCH_OBSERVER === 'in-process') {
    const running = await runObserver(
      { kubeconfig, specs },
      {
        send: (data) => {
          const m = data as Up;
          if ('key' in m) watches[m.key as K].changed(m.name, m.at);
        },
        onMessage: () => undefined,
      },
    );
    return { watches, where: 'bench process', clockErrorMs: 0, stop: running.stop };
  }
  const pongs = new Map<number, (at: number) => void>();
  const child = await startChildService<Record<string, never>>(
    'bench observer',
    new URL(import.meta.url),
    'runObserver',
    { kubeconfig, specs },
    {
      onMessage: (data) => {
        const m = data as Up;
        if ('pong' in m) pongs.get(m.pong)?.(m.at);
        else watches[m.key as K]?.changed(m.name, m.at);
      },
    },
  );
  let best = { rtt: Number.POSITIVE_INFINITY, offset: 0 };
  for (let i = 0; i < 30; i++) {
    const sent = wallNow();
    const at = await new Promise<number>((resolve) => {
      pongs.set(i, resolve);
      child.send({ ping: i } satisfies Down);
    });
    const back = wallNow();
    if (back - sent < best.rtt) best = { rtt: back - sent, offset: at - (sent + back) / 2 };
  }
  for (const w of Object.values<Observed>(watches)) w.offset = best.offset;
  return {
    watches,
    where: 'child process',
    clockErrorMs: best.rtt / 2,
    pid: child.pid,
    stop: () => child.stop(),
  };
}

/** The bench's view of a watch: changes arrive as wall-clock instants, kept per object on its clock. */
export class Observed {
  offset = 0;
  private readonly times = new Map<string, number[]>();
  private waiters: Array<{ after: number; resolve: (t: number) => void }> = [];

  changed(name: string, at: number): void {
    const t = at - this.offset - performance.timeOrigin;
    const list = this.times.get(name) ?? [];
    list.push(t);
    this.times.set(name, list);
    this.waiters = this.waiters.filter((w) => {
      if (t < w.after) return true;
      w.resolve(t);
      return false;
    });
  }

  /** Resolves with the time of the first change seen after now. */
  next(timeoutMs = 30_000): Promise<number> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no change within ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push({
        after: performance.now(),
        resolve: (t) => {
          clearTimeout(timer);
          resolve(t);
        },
      });
    });
  }

  /** Every change of the named object so far, in order. */
  changesOf(name: string): readonly number[] {
    return this.times.get(name) ?? [];
  }
}

/** The watching end (the child, or the bench process itself): each change streamed as it is seen. */
export async function runObserver(
  options: { kubeconfig: string; specs: Record<string, WatchSpec> },
  channel: ChildChannel,
): Promise<{ stop(): Promise<void> }> {
  const kc = new KubeConfig();
  kc.loadFromString(options.kubeconfig);
  channel.onMessage((data) => {
    const m = data as Down;
    channel.send({ pong: m.ping, at: wallNow() } satisfies Up);
  });
  const watches = Object.entries(options.specs).map(([key, s]) => {
    const w = new ChangeWatch(kc, s.path, s.name, FINGERPRINTS[s.fingerprint]);
    w.onChange = (name, t) => channel.send({ key, name, at: performance.timeOrigin + t } satisfies Up);
    return w;
  });
  await Promise.all(watches.map((w) => w.start()));
  return {
    stop: async () => {
      for (const w of watches) w.stop();
    },
  };
}

function mapValues<K extends string, A, B>(o: Record<K, A>, f: (a: A) => B): Record<K, B> {
  return Object.fromEntries(Object.entries<A>(o).map(([k, v]) => [k, f(v)])) as Record<K, B>;
}
