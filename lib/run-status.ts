import { EVENT_SOURCES, type EventSource, eventKey } from './change-event.js';
import type { Clock } from './clock.js';
import { type Outcome, rolloutOf } from './outcome.js';
import { parseProgress, type RunProgress } from './run-progress.js';
import type { IdempotencyRecord, IdempotencyStore } from './state/idempotency.js';

/**
 * The state of one delivery as the state store knows it (`GET /api/runs/{eventId}`,
 * `rotor status`):
 * - `in-progress`: claimed by `claimedBy` since `claimedAt`; the claim is renewed while the
 *   run lives, and a redelivery may take it over after `expiresAt`; `progress` is what the
 *   run had finished at its last write (lib/run-progress.ts; none for a run shorter than
 *   PROGRESS_EVERY_MS);
 * - `abandoned`: in progress, but past `expiresAt`: its holder died, the next delivery takes
 *   over; `progress` is how far it got;
 * - `completed`: done at `completedAt`; `outcome` is what finished, with the rollout
 *   follow-up's results once it ended (`following` while it goes on).
 * A run that failed, or was given back at shutdown, leaves no record: unknown (404).
 */
export interface RunStatus {
  eventId: string;
  source: EventSource;
  state: 'in-progress' | 'abandoned' | 'completed';
  claimedBy?: string;
  claimedAt?: string;
  expiresAt?: string;
  completedAt?: string;
  /** Whether rollouts are still being followed after the run answered. */
  rollouts?: 'following' | 'ended';
  /** In progress or abandoned: the steps finished so far. */
  progress?: RunProgress;
  outcome?: Outcome;
}

/** Every record the store keeps for `eventId`, one per source that delivered it (usually one). */
export async function runStatus(
  store: IdempotencyStore,
  eventId: string,
  clock: Clock,
): Promise<RunStatus[]> {
  const records = await Promise.all(
    EVENT_SOURCES.map(async (source) => ({ source, record: await store.get(eventKey(source, eventId)) })),
  );
  return records.flatMap(({ source, record }) => (record ? [statusOf(eventId, source, record, clock)] : []));
}

function statusOf(eventId: string, source: EventSource, record: IdempotencyRecord, clock: Clock): RunStatus {
  const claim = {
    ...(record.claimedBy ? { claimedBy: record.claimedBy } : {}),
    ...(record.claimedAt ? { claimedAt: record.claimedAt.toISOString() } : {}),
  };
  if (record.status === 'in-progress') {
    const live = record.expiresAt.getTime() > clock.now().getTime();
    const progress = parseProgress(record.progress);
    return {
      eventId,
      source,
      state: live ? 'in-progress' : 'abandoned',
      ...claim,
      expiresAt: record.expiresAt.toISOString(),
      ...(progress ? { progress } : {}),
    };
  }
  const outcome = parseOutcome(record.result);
  const following = outcome?.workloads.some((w) => rolloutOf(w)?.status === 'following');
  return {
    eventId,
    source,
    state: 'completed',
    ...claim,
    ...(record.completedAt ? { completedAt: record.completedAt.toISOString() } : {}),
    ...(outcome?.workloads.some((w) => rolloutOf(w)) ? { rollouts: following ? 'following' : 'ended' } : {}),
    ...(outcome ? { outcome } : {}),
  };
}

/** The kept result is rotor's own JSON; a result too large to keep, or unreadable, is left out. */
function parseOutcome(result: string | undefined): Outcome | undefined {
  if (result === undefined) return undefined;
  try {
    const value = JSON.parse(result) as Outcome;
    return Array.isArray(value?.workloads) ? value : undefined;
  } catch {
    return undefined;
  }
}
