import type { App, HealthReport, Plan } from '../../../lib/app-types.js';
import type { ChangeEvent, EventSource, IgnoredEvent } from '../../../lib/change-event.js';
import type { Config } from '../../../lib/config.js';
import type { Outcome } from '../../../lib/outcome.js';
import { refKey, type SecretRef } from '../../../lib/secret-ref.js';
import { type IdempotencyStore, withIdempotency } from '../../../lib/state/idempotency.js';

export interface AppStandInOptions {
  config: Config;
  /** When given, process() is exactly-once per `source:id` over this store, as the real App is. */
  idempotency?: IdempotencyStore;
  /** Runs as "the work" of process(); throw to simulate a failing pipeline. */
  onProcess?: (event: ChangeEvent) => Promise<void> | void;
  health?: HealthReport;
}

export interface RecordingApp extends App {
  /** Events whose work actually ran (not duplicates). */
  readonly processed: ChangeEvent[];
  readonly ignored: Array<{ event: IgnoredEvent; source: EventSource }>;
  readonly manual: Array<{ action: 'rotate' | 'refresh'; ref: SecretRef; options: unknown }>;
  scans: number;
}

/**
 * appStandIn: a small recording App for entry-point tests until the real composition root
 * (lib/app.ts) is wired; it runs no pipeline, it records what the entry points asked for.
 */
export function appStandIn(options: AppStandInOptions): RecordingApp {
  const processed: ChangeEvent[] = [];
  const ignored: RecordingApp['ignored'] = [];
  const manual: RecordingApp['manual'] = [];
  const work = async (event: ChangeEvent): Promise<Outcome> => {
    await options.onProcess?.(event);
    processed.push(event);
    return outcomeOf(event, 'completed');
  };
  const app: RecordingApp = {
    config: options.config,
    processed,
    ignored,
    manual,
    scans: 0,
    async process(event) {
      if (!options.idempotency) return work(event);
      const result = await withIdempotency(
        options.idempotency,
        `${event.source}:${event.id}`,
        () => work(event),
        { waitMs: 3_000, pollMs: 25 },
      );
      return result.status === 'done' ? result.value : outcomeOf(event, 'duplicate');
    },
    ignore(event, source) {
      ignored.push({ event, source });
    },
    async rotate(ref, opts) {
      manual.push({ action: 'rotate', ref, options: opts });
      return outcomeOf(
        { id: opts?.requestId ?? 'manual', ref, kind: 'rotate-requested', source: 'manual' },
        'completed',
      );
    },
    async refresh(ref, opts) {
      manual.push({ action: 'refresh', ref, options: opts });
      return outcomeOf(
        { id: opts?.requestId ?? 'manual', ref, kind: 'changed', source: 'manual' },
        'completed',
      );
    },
    async plan(ref): Promise<Plan> {
      return { ref: refKey(ref), clusters: [] };
    },
    async scanDue() {
      app.scans++;
      return [];
    },
    async health() {
      return options.health ?? { ok: true, checks: [] };
    },
    async warm() {},
    async close() {},
  };
  return app;
}

function outcomeOf(
  event: Pick<ChangeEvent, 'id' | 'ref' | 'kind' | 'source'>,
  status: Outcome['status'],
): Outcome {
  return {
    eventId: event.id,
    ref: refKey(event.ref),
    kind: event.kind,
    source: event.source,
    status,
    refreshes: [],
    workloads: [],
    clusterFailures: [],
    timeline: [{ step: 'received', atMs: 0 }],
    dryRun: false,
  };
}
