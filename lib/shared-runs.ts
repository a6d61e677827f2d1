import { ClaimGate } from './claim-gate.js';

/**
 * Runs in flight that events naming the same change (secret and version) share: forcing
 * the same ExternalSecret five times at once only slows each force down. A run started
 * before its event's claim was decided goes on as long as one of the claims that joined it
 * may be won (its ClaimGate); once every one was lost, the next event starts a run of its own.
 */
export class SharedRuns<T> {
  private readonly inflight = new Map<string, { gate: ClaimGate; result: Promise<T> }>();

  /** The run in flight for `key`, joined by `claimed`; undefined when there is none that may go on. */
  join(key: string, claimed: Promise<boolean>): Promise<T> | undefined {
    const running = this.inflight.get(key);
    if (!running || running.gate.closed) return undefined;
    running.gate.add(claimed);
    return running.result;
  }

  /** Starts a run gated by `claimed`; shared under `key` until it ends (not shared without one). */
  start(
    key: string | undefined,
    claimed: Promise<boolean>,
    run: (gate: ClaimGate) => Promise<T>,
  ): Promise<T> {
    const gate = new ClaimGate();
    gate.add(claimed);
    if (key === undefined) return run(gate);
    const entry = {
      gate,
      result: run(gate).finally(() => {
        if (this.inflight.get(key) === entry) this.inflight.delete(key);
      }),
    };
    this.inflight.set(key, entry);
    return entry.result;
  }
}
