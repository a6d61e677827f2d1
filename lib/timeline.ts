import type { Clock } from './clock.js';
import type { StepListener, TimelineEntry, TimelineStep } from './outcome.js';

/**
 * Milliseconds since the event was received; the first mark of a step wins. `steps` hears
 * of each mark, and of each cluster's results, as they happen (a run's progress).
 */
export class Timeline {
  readonly entries: TimelineEntry[] = [];
  constructor(
    private readonly start: Date,
    private readonly clock: Clock,
    readonly steps?: StepListener,
  ) {}

  mark(step: TimelineStep, detail?: string): void {
    const atMs = this.elapsedMs();
    const entry = detail === undefined ? { step, atMs } : { step, atMs, detail };
    this.entries.push(entry);
    this.steps?.marked(entry);
  }

  elapsedMs(): number {
    return Math.max(0, this.clock.now().getTime() - this.start.getTime());
  }
}
