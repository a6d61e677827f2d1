import type { ChangeEvent } from './change-event.js';
import type { Announcement, DerivedRef, PipelinePorts } from './pipeline.js';

/**
 * What an event's run needs before its claim is won, started as the event arrives: each
 * cluster's derived objects (reads only, so nothing is done twice for a duplicate) and,
 * once they are known, the announcement to the restart step that this run will change
 * their consumers. Announcing on arrival rather than when the run leaves the queue is what
 * makes a burst's changes to one workload one patch: the restart knows that the runs
 * waiting for their turn are coming. Released as soon as the run no longer needs it (it
 * ran, it shared another run, it was a duplicate, it was refused).
 */
export class Prefetch<D extends DerivedRef> {
  private readonly resolved = new Map<string, Promise<D[]>>();
  private readonly announced = new Map<string, Announcement>();
  private released = false;
  private refreshed?: () => void;

  constructor(
    private readonly ports: PipelinePorts<D>,
    event: ChangeEvent,
    options: { announce: boolean },
  ) {
    for (const cluster of ports.clusters()) {
      const derived = ports.resolve(cluster, event.ref);
      // Runs before the run's own await of the same promise: the announcement is there when it looks.
      derived.then(
        (d) => {
          if (!options.announce || this.released || d.length === 0) return;
          const announcement = ports.announce?.(cluster, d);
          if (announcement) this.announced.set(cluster, announcement);
        },
        () => undefined, // a duplicate never reads it; a run reports its failure
      );
      this.resolved.set(cluster, derived);
    }
  }

  /**
   * `leave` is called once every cluster is past its refresh (nothing derived, refresh
   * settled, or failed before): what the run has left is its restart, which may wait for
   * other runs' changes to the same workloads. The runner gives the run's place in its queue
   * up then, so a run waiting for a coalesced restart never keeps the runs it waits for
   * queued behind it.
   */
  leaveQueueWith(leave: () => void): this {
    this.refreshed = leave;
    return this;
  }

  /** The run's ports: resolve answers from here, announce hands over what was announced. */
  runPorts(): PipelinePorts<D> {
    const { ports, refreshed } = this;
    const clusters = new Set(ports.clusters());
    const done = (cluster: string): void => {
      if (clusters.delete(cluster) && clusters.size === 0) refreshed?.();
    };
    const afterRefresh = <T>(cluster: string, work: Promise<T>): Promise<T> => {
      work.then(
        () => done(cluster),
        () => done(cluster),
      );
      return work;
    };
    return {
      ...ports,
      resolve: (cluster, ref) => {
        const derived = this.resolved.get(cluster) ?? ports.resolve(cluster, ref);
        derived.then(
          (d) => d.length === 0 && done(cluster),
          () => done(cluster),
        );
        return derived;
      },
      announce: (cluster, derived) => this.announced.get(cluster) ?? ports.announce?.(cluster, derived),
      refresh: (cluster, derived, options) => afterRefresh(cluster, ports.refresh(cluster, derived, options)),
    };
  }

  release(): void {
    this.released = true;
    for (const announcement of this.announced.values()) announcement.release();
    this.announced.clear();
  }
}
