import type { Outcome, RefreshResult } from '../../../lib/outcome.js';
import type { RunStatus } from '../../../lib/run-status.js';

/** A completed Key Vault event's Outcome with nothing in it, `fields` replacing what a test is about. */
export function outcomeWith(fields: Partial<Outcome>): Outcome {
  return {
    eventId: 'e-1',
    ref: 'azure-keyvault:kv/db',
    kind: 'changed',
    source: 'eventgrid',
    status: 'completed',
    refreshes: [],
    workloads: [],
    clusterFailures: [],
    timeline: [],
    dryRun: false,
    ...fields,
  };
}

/** An ExternalSecret the refresh step synced, its Secret updated. */
export function refreshedOf(cluster: string, name: string): RefreshResult {
  return {
    status: 'refreshed',
    cluster,
    operator: 'eso',
    kind: 'ExternalSecret',
    namespace: 'app',
    name,
    secretChanged: true,
    ms: 120,
  };
}

/** Event e-1 as the store reports it while worker 7 holds it (claimed 10:00, until 10:02). */
export const IN_PROGRESS_E1: RunStatus = {
  eventId: 'e-1',
  source: 'eventgrid',
  state: 'in-progress',
  claimedBy: 'worker-7:4242',
  claimedAt: '2026-11-29T10:00:00.000Z',
  expiresAt: '2026-11-29T10:02:00.000Z',
};
