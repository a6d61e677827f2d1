import type { ChangeEvent, IgnoredEvent } from '../change-event.js';

/** What one inbound event decodes to: a change to act on, or an acknowledged no-op with its reason. */
export type Decoded = { type: 'change'; event: ChangeEvent } | { type: 'ignored'; event: IgnoredEvent };

export function changed(event: ChangeEvent): Decoded {
  return { type: 'change', event };
}

export function ignored(id: string, reason: string): Decoded {
  return { type: 'ignored', event: { id, reason } };
}
