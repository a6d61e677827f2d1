import { conditionOf, type KubeObject } from '../api/objects.js';
import type { Verdict } from './await.js';
import { atOrAfter } from './refresh-flow.js';

/**
 * Done when ESO recorded a sync of the forced metadata (syncedResourceVersion moved,
 * refreshTime at or after the patch) with Ready True; failed when Ready turned False
 * with SecretSyncedError after the patch.
 */
export function esVerdict(
  before: KubeObject,
  since: Date,
  extra?: (obj: KubeObject) => boolean,
): (obj: KubeObject) => Verdict {
  const preSynced = (before.status?.syncedResourceVersion as string | undefined) ?? '';
  const preReady = conditionOf(before, 'Ready');
  return (obj) => {
    if (extra && !extra(obj)) return { state: 'pending' };
    const ready = conditionOf(obj, 'Ready');
    const synced = (obj.status?.syncedResourceVersion as string | undefined) ?? '';
    if (
      ready?.status === 'True' &&
      synced !== preSynced &&
      atOrAfter(obj.status?.refreshTime as string | undefined, since)
    ) {
      return { state: 'done' };
    }
    const newFailure = preReady?.status !== 'False' || atOrAfter(ready?.lastTransitionTime, since);
    if (ready?.status === 'False' && ready.reason === 'SecretSyncedError' && newFailure) {
      return { state: 'failed', error: `Ready=False SecretSyncedError: ${ready.message ?? ''}` };
    }
    return { state: 'pending' };
  };
}

/**
 * How long a force on an ExternalSecret that was already failing waits for news before it
 * reports that failure. ESO answers a forced sync in tens of milliseconds; when it fails
 * again with the same message it keeps the condition as it was and, past its recorder's
 * spam limit, records no event either: silence then means "still failing".
 */
export const KNOWN_FAILURE_GRACE_MS = 3_000;

/** The failure an ExternalSecret was in before the force, if any. */
export function knownFailure(before: KubeObject): { afterMs: number; error: string } | undefined {
  const ready = conditionOf(before, 'Ready');
  if (ready?.status !== 'False' || ready.reason !== 'SecretSyncedError') return undefined;
  return { afterMs: KNOWN_FAILURE_GRACE_MS, error: `Ready=False SecretSyncedError: ${ready.message ?? ''}` };
}

export function describeEs(obj: KubeObject): string {
  const ready = conditionOf(obj, 'Ready');
  const synced = (obj.status?.syncedResourceVersion as string | undefined) ?? 'none';
  return ready
    ? `Ready=${ready.status} ${ready.reason ?? ''}: ${ready.message ?? ''}; syncedResourceVersion ${synced}`
    : 'no Ready condition yet';
}
