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

export interface WatchSpec {
  path: string;
  name: string;
  fingerprint: Fingerprint;
}

/** What the bench needs of a watch: the time of the first change after now. */
export interface Watched {
  next(timeoutMs?: number): Promise<number>;
}

export interface Observer<K extends string> {
  readonly watches: Record<K, Watched>;
  readonly where: string;
  /** Bound of the cross-process clock error, ms (0 in process). */
  readonly clockErrorMs: number;
  stop(): Promise<void>;
}

type Down = { ping: number };
type Up = { pong: number; at: number } | { key: string; at: number };

const wallNow = () => performance.timeOrigin + performance.now();

export async function startObserver<K extends string>(
  kubeconfig: string,
  specs: Record<K, WatchSpec>,
): Promise<Observer<K>> {
  if (process.env.ROTOR_BENCH_OBSERVER === 'in-process') {
    const kc = new KubeConfig();
    kc.loadFromString(kubeconfig);
    const watches = mapValues(specs, (s) => new ChangeWatch(kc, s.path, s.name, FINGERPRINTS[s.fingerprint]));
    await Promise.all(Object.values<ChangeWatch>(watches).map((w) => w.start()));
    return {
      watches,
      where: 'bench process',
      clockErrorMs: 0,
      stop: async () => {
        for (const w of Object.values<ChangeWatch>(watches)) w.stop();
      },
    };
  }
  const remote = mapValues(specs, () => new RemoteWatch());
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
        else remote[m.key as K]?.changed(m.at);
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
  for (const w of Object.values<RemoteWatch>(remote)) w.offset = best.offset;
  return { watches: remote, where: 'child process', clockErrorMs: best.rtt / 2, stop: () => child.stop() };
}

/** The parent's view of a watch in the child: changes arrive as wall-clock instants. */
class RemoteWatch implements Watched {
  offset = 0;
  private waiters: Array<{ after: number; resolve: (t: number) => void }> = [];

  changed(at: number): void {
    const t = at - this.offset - performance.timeOrigin;
    this.waiters = this.waiters.filter((w) => {
      if (t < w.after) return true;
      w.resolve(t);
      return false;
    });
  }

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
}

/** The child's end (child-service-main.ts calls it): the watches, streaming each change. */
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
    w.onChange = () => channel.send({ key, at: wallNow() } satisfies Up);
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
