import type { ClusterClient } from '../cluster.js';

/**
 * Where a refresh's Warning Event watch starts: the namespace's event list version, read after
 * the refresh asks (an ExternalSecret refresh asks once its force is written, so a warning
 * recorded before the force is never taken for this sync's failure).
 *
 * Refreshes that ask at once, as a burst's do, share one read: a caller joins a read that has
 * not been sent yet, never one already on its way (that one may have been answered before the
 * caller's force). At most one read per namespace is in flight; callers that ask meanwhile
 * share the next, sent when it ends. A burst of 200 ExternalSecrets in one namespace sent 200
 * LISTs, each a request the API server serves while it is busiest; the read is off the sync's
 * path (the watch opens only after EVENTS_WATCH_AFTER_MS), so waiting for the one in flight
 * costs nothing a caller would see.
 */
type Read = Promise<string | undefined>;

interface Lane {
  inFlight?: Read;
  next?: Read;
}

const lanes = new WeakMap<ClusterClient, Map<string, Lane>>();

/** The current version of the namespace's events, read after this call; undefined when not allowed. */
export function eventsVersion(client: ClusterClient, namespace: string): Read {
  const lane = laneOf(client, namespace);
  if (lane.next) return lane.next;
  const next: Read = (lane.inFlight ?? Promise.resolve(undefined)).then(() => {
    // Sent now: after every caller that joined it asked.
    lane.next = undefined;
    const read = listVersion(client, namespace);
    lane.inFlight = read;
    void read.then(() => {
      if (lane.inFlight === read) lane.inFlight = undefined;
    });
    return read;
  });
  lane.next = next;
  return next;
}

function laneOf(client: ClusterClient, namespace: string): Lane {
  let byNamespace = lanes.get(client);
  if (!byNamespace) {
    byNamespace = new Map();
    lanes.set(client, byNamespace);
  }
  let lane = byNamespace.get(namespace);
  if (!lane) {
    lane = {};
    byNamespace.set(namespace, lane);
  }
  return lane;
}

async function listVersion(client: ClusterClient, namespace: string): Read {
  try {
    const list = await client.core.listNamespacedEvent({ namespace, limit: 1 });
    return list.metadata?.resourceVersion;
  } catch {
    return undefined;
  }
}
