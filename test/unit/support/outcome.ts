import type { Outcome } from '../../../lib/outcome.js';

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
