import { NotFoundError } from '../../errors.js';
import type { Gvr } from '../api/gvr.js';
import type { InformerEvent } from '../api/informer.js';
import type { KubeObject } from '../api/objects.js';
import { type AwaitOutcome, decide, type Verdict } from './await.js';

/** Subscribes to one object's events on a watch rotor already has open (ObjectCache.listen). */
export type SharedWatch = (
  gvr: Gvr,
  namespace: string,
  name: string,
  listener: (e: InformerEvent) => void,
) => (() => void) | undefined;

/**
 * How long the shared watch may take to deliver our own write before the refresh opens
 * its own watch instead: a lagging stream must not delay the sync it reports.
 */
export const OWN_WRITE_WITHIN_MS = 500;

/**
 * A subscription taken before the force is written, buffering events until the await
 * starts. Each refresh's own watch is a new connection (TLS on both ends): in a burst of
 * hundreds of refreshes that is most of the API server's CPU, while the object cache
 * already watches every one of these objects.
 */
export class Tap {
  private buffer: InformerEvent[] = [];
  private sink?: (e: InformerEvent) => void;
  private constructor(
    /** The followed object's name: what a failure reports, as the object's own watch does. */
    readonly name: string,
    private readonly unsubscribe: () => void,
  ) {}

  /** Undefined when no shared watch is open for the object: the refresh watches on its own. */
  static open(watched: SharedWatch | undefined, gvr: Gvr, namespace: string, name: string): Tap | undefined {
    let tap: Tap | undefined;
    const pending: InformerEvent[] = [];
    const off = watched?.(gvr, namespace, name, (e) => (tap ? tap.push(e) : pending.push(e)));
    if (!off) return undefined;
    tap = new Tap(name, off);
    tap.buffer = pending;
    return tap;
  }

  private push(e: InformerEvent): void {
    if (this.sink) this.sink(e);
    else this.buffer.push(e);
  }

  /** Delivers what was buffered, then every later event, to `sink`. */
  drain(sink: (e: InformerEvent) => void): void {
    this.sink = sink;
    const buffered = this.buffer;
    this.buffer = [];
    for (const e of buffered) sink(e);
  }

  close(): void {
    this.sink = undefined;
    this.buffer = [];
    this.unsubscribe();
  }
}

/**
 * Runs a refresh with a tap taken before its force is written (our own write is then among
 * the events the tap delivers), and closed however the refresh ends: a force that fails
 * leaves no listener behind on the shared watch.
 */
export async function withTap<T>(
  watched: SharedWatch | undefined,
  gvr: Gvr,
  namespace: string,
  name: string,
  refresh: (tap: Tap | undefined) => Promise<T>,
): Promise<T> {
  const tap = Tap.open(watched, gvr, namespace, name);
  try {
    return await refresh(tap);
  } finally {
    tap?.close();
  }
}

/**
 * Follows the forced object through the tap: events up to our own write (the one with
 * `resourceVersion`, which the watch delivers in order) are older than the force and
 * skipped; each later one is judged, as a dedicated watch from that version would. No
 * resourceVersion is compared across objects or by order, only matched. Falls back to
 * `ownWatch` (a watch from the same version, nothing missed) when the stream has a gap or
 * our write is not seen within OWN_WRITE_WITHIN_MS.
 */
export function awaitFromTap(
  tap: Tap,
  resourceVersion: string,
  evaluate: (obj: KubeObject) => Verdict,
  signal: AbortSignal,
  ownWatch: () => Promise<AwaitOutcome>,
): Promise<AwaitOutcome> {
  return new Promise((resolve) => {
    let settled = false;
    let seen = false;
    let last: KubeObject | undefined;
    const end = (): void => {
      settled = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      tap.close();
    };
    const finish = (outcome: AwaitOutcome): void => {
      if (settled) return;
      end();
      resolve(outcome);
    };
    const fallBack = (): void => {
      if (settled) return;
      end();
      resolve(ownWatch());
    };
    const onAbort = (): void => finish({ state: 'timeout', object: last });
    const timer = setTimeout(fallBack, OWN_WRITE_WITHIN_MS);
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort);
    tap.drain((e) => {
      if (settled) return;
      if (e.phase === 'gap') return fallBack();
      if (!seen) {
        seen = e.obj.metadata?.resourceVersion === resourceVersion;
        if (seen) clearTimeout(timer);
        return;
      }
      if (e.phase === 'DELETED')
        return finish({
          state: 'failed',
          error: new NotFoundError(`${tap.name} was deleted while waiting for its refresh`),
        });
      last = e.obj;
      const decided = decide(e.obj, evaluate);
      if (decided) finish(decided);
    });
  });
}
