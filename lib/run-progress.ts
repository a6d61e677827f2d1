import { type ChangeEvent, eventKey } from './change-event.js';
import { systemTimers, type Timers, unref } from './clock.js';
import type { RefreshResult, StepListener, TimelineEntry, WorkloadResult } from './outcome.js';
import type { LiveClaims } from './state/held-claim.js';

/**
 * What a run still in progress has finished so far, as `GET /api/runs/{eventId}` and
 * `rotor status` show it: the timeline (resolved, forced, secret updated, patched, per
 * cluster) and the results of the clusters whose refresh or restart step has ended.
 */
export interface RunProgress {
  timeline: TimelineEntry[];
  refreshes: RefreshResult[];
  workloads: WorkloadResult[];
  /** Results left out to keep the record small (a run over hundreds of objects); the outcome has them all. */
  omitted?: { refreshes: number; workloads: number };
}

/**
 * At most one write per this many milliseconds, carrying every step since the last: a run
 * shorter than that writes no progress at all (its completion records everything).
 */
export const PROGRESS_EVERY_MS = 500;
/** Results kept per list: a progress record stays far below Table Storage's 64 KiB column. */
const KEPT_RESULTS = 50;

/**
 * Collects a run's steps as the pipeline reports them and notes a snapshot on the event's
 * claim (its `source:id` key; lib/state/held-claim.ts writes it to the record) once per
 * PROGRESS_EVERY_MS at most, on a timer: the run never waits for it. While this process
 * holds no claim for the key yet (a run started beside its claim), it tries a period later.
 */
export class ProgressRecorder implements StepListener {
  private readonly timeline: TimelineEntry[] = [];
  private readonly refreshes: RefreshResult[] = [];
  private readonly workloads: WorkloadResult[] = [];
  private timer: unknown;
  private closed = false;

  private readonly key: string;

  constructor(
    private readonly claims: Pick<LiveClaims, 'note'>,
    event: Pick<ChangeEvent, 'source' | 'id'>,
    private readonly timers: Timers = systemTimers,
    private readonly everyMs = PROGRESS_EVERY_MS,
  ) {
    this.key = eventKey(event.source, event.id);
  }

  marked(entry: TimelineEntry): void {
    this.timeline.push(entry);
    this.schedule();
  }

  refreshed(results: RefreshResult[]): void {
    this.refreshes.push(...results);
    this.schedule();
  }

  restarted(results: WorkloadResult[]): void {
    this.workloads.push(...results);
    this.schedule();
  }

  /** The run ended: its outcome is recorded instead; nothing more is written. */
  close(): void {
    this.closed = true;
    if (this.timer !== undefined) this.timers.clear(this.timer);
    this.timer = undefined;
  }

  snapshot(): RunProgress {
    const omitted = {
      refreshes: Math.max(0, this.refreshes.length - KEPT_RESULTS),
      workloads: Math.max(0, this.workloads.length - KEPT_RESULTS),
    };
    return {
      timeline: [...this.timeline],
      refreshes: this.refreshes.slice(0, KEPT_RESULTS),
      workloads: this.workloads.slice(0, KEPT_RESULTS),
      ...(omitted.refreshes + omitted.workloads > 0 ? { omitted } : {}),
    };
  }

  private schedule(): void {
    if (this.closed || this.timer !== undefined) return;
    this.timer = this.timers.set(() => {
      this.timer = undefined;
      if (this.closed) return;
      if (!this.claims.note(this.key, JSON.stringify(this.snapshot()))) this.schedule();
    }, this.everyMs);
    unref(this.timer);
  }
}

/** The progress a record keeps: rotor's own JSON; anything unreadable is left out. */
export function parseProgress(text: string | undefined): RunProgress | undefined {
  if (text === undefined) return undefined;
  try {
    const value = JSON.parse(text) as RunProgress;
    return Array.isArray(value?.timeline) && Array.isArray(value.workloads) ? value : undefined;
  } catch {
    return undefined;
  }
}
