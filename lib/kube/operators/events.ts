import type { CoreV1Event } from '@kubernetes/client-node';
import { startWatch, type WatchHandle } from '../api/watch.js';
import type { ClusterClient } from '../cluster.js';

/**
 * Operators put the backend's own error text into Warning Events (ESO's condition says
 * only "could not get secret data from provider"). Reading them is best effort: without
 * the `events` verbs rotor still reports the condition.
 */
export interface WarningEvent {
  reason: string;
  message: string;
  at: Date;
}

export interface EventQuery {
  namespace: string;
  kind: string;
  name: string;
  /** Events last seen before this (server clock, 1 s precision) belong to earlier syncs. */
  notBefore: Date;
  /**
   * Warnings that do not mean the sync failed (VSO's StatusUpdateError on a conflict: the
   * write that conflicted triggers the next reconcile); never reported as the outcome.
   */
  benign?: (w: WarningEvent) => boolean;
}

function selector(q: EventQuery): string {
  return `involvedObject.kind=${q.kind},involvedObject.name=${q.name},type=Warning`;
}

function eventTime(e: CoreV1Event): Date {
  const t = e.lastTimestamp ?? e.eventTime ?? e.firstTimestamp ?? e.metadata?.creationTimestamp;
  return t ? new Date(t) : new Date(0);
}

function toWarning(e: CoreV1Event): WarningEvent {
  return { reason: e.reason ?? '', message: e.message ?? '', at: eventTime(e) };
}

/**
 * The newest meaningful Warning for the object; with `anyTime`, also one from before the
 * force (an operator that keeps failing the same way may record no new one: the spam filter
 * of client-go's recorder stops at about 25 events per object).
 */
export async function latestWarning(
  client: ClusterClient,
  q: EventQuery,
  anyTime = false,
): Promise<WarningEvent | undefined> {
  try {
    const list = await client.core.listNamespacedEvent({
      namespace: q.namespace,
      fieldSelector: selector(q),
    });
    const recent = list.items
      .map(toWarning)
      .filter((w) => (anyTime || w.at.getTime() >= q.notBefore.getTime()) && !q.benign?.(w));
    recent.sort((a, b) => b.at.getTime() - a.at.getTime());
    return recent[0];
  } catch {
    return undefined;
  }
}

/** Resolves with the first new Warning Event for the object, or undefined when aborted or not allowed. */
export function awaitWarning(
  client: ClusterClient,
  q: EventQuery,
  sinceVersion: string,
  signal: AbortSignal,
): Promise<WarningEvent | undefined> {
  return new Promise((resolve) => {
    let settled = false;
    let stream: WatchHandle | undefined;
    const finish = (w: WarningEvent | undefined): void => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      stream?.stop();
      resolve(w);
    };
    const onAbort = (): void => finish(undefined);
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort);
    stream = startWatch({
      kc: client.kc,
      path: `/api/v1/namespaces/${encodeURIComponent(q.namespace)}/events`,
      params: { resourceVersion: sinceVersion, fieldSelector: selector(q) },
      onEvent: (phase, obj: CoreV1Event) => {
        if (phase !== 'ADDED' && phase !== 'MODIFIED') return;
        const w = toWarning(obj);
        if (w.at.getTime() >= q.notBefore.getTime() && !q.benign?.(w)) finish(w);
      },
      // A closed event stream only loses the enrichment; the object watch still decides.
      onDone: () => {},
    });
  });
}
