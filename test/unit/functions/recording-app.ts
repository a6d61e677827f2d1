import type { App, AppSource, HealthReport, Plan } from '../../../lib/app-types.js';
import type { ChangeEvent, EventSource, IgnoredEvent } from '../../../lib/change-event.js';
import type { Config } from '../../../lib/config.js';
import type { Outcome } from '../../../lib/outcome.js';
import type { RunStatus } from '../../../lib/run-status.js';
import { refKey, type SecretRef } from '../../../lib/secret-ref.js';

export interface RecordingAppOptions {
  config: Config;
  /** Runs as "the work" of process(); throw to make process() throw. */
  onProcess?: (event: ChangeEvent) => Promise<void> | void;
  health?: HealthReport;
  /** What runStatus answers, by event id (default: nothing known). */
  runs?: RunStatus[];
}

export interface RecordingApp extends App {
  /** Events whose work actually ran (not duplicates). */
  readonly processed: ChangeEvent[];
  readonly ignored: Array<{ event: IgnoredEvent; source: EventSource }>;
  readonly manual: Array<{ action: 'rotate' | 'refresh'; ref: SecretRef; options: unknown }>;
  scans: number;
  /** How often resumeVerifications() was called (hosts call it at start). */
  resumed: number;
  /** The grace periods drain() was called with. */
  readonly drains: number[];
}

/**
 * A test double of the App for entry-point unit tests: it runs no pipeline and keeps no
 * state, it records what the entry points asked for. What the real App guarantees
 * (exactly-once, shared runs, the transient rule) is tested in test/unit/run.test.ts and,
 * through the host, in test/integration/host over the real App.
 */
export function recordingApp(options: RecordingAppOptions): RecordingApp {
  const processed: ChangeEvent[] = [];
  const ignored: RecordingApp['ignored'] = [];
  const manual: RecordingApp['manual'] = [];
  const drains: number[] = [];
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
    drains,
    scans: 0,
    resumed: 0,
    process: work,
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
    async resumeVerifications() {
      app.resumed++;
    },
    async runStatus(eventId) {
      return (options.runs ?? []).filter((r) => r.eventId === eventId);
    },
    async drain(graceMs) {
      drains.push(graceMs);
      return { finished: 0, released: [], graceMs, ms: 0 };
    },
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

/** The App an entry point under test obtains: whichever the test last handed to `use`. */
export function appSlot(): { source: AppSource; use(app: App): void } {
  let current: App | undefined;
  return {
    source: async () => {
      if (!current) throw new Error('the test has not chosen an App');
      return current;
    },
    use: (app) => {
      current = app;
    },
  };
}
