import type { Config } from '../config.js';
import { describeError, RotorError } from '../errors.js';
import type { Outcome } from '../outcome.js';
import type { Logger } from '../telemetry.js';
import { formats } from './formats.js';
import { summarise } from './summary.js';

export type Send = (url: string, body: unknown) => Promise<void>;

const postJson: Send = async (url, body) => {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(5_000),
  });
  if (!res.ok) {
    const retryable = res.status >= 500 || res.status === 429;
    throw new RotorError('notification_failed', `notification endpoint answered ${res.status}`, retryable);
  }
};

/**
 * Sends a summary after restarts or failures, as Reloader's alerting does. A failing
 * notification is logged and never fails the pipeline run.
 */
export async function notify(
  targets: Config['notifications'],
  outcome: Outcome,
  log: Logger,
  send: Send = postJson,
): Promise<void> {
  const summary = summarise(outcome);
  const event = summary.failed ? 'failure' : summary.restarted > 0 ? 'restart' : undefined;
  if (!event) return;
  await Promise.all(
    targets
      .filter((t) => t.on.includes(event))
      .map(async (t) => {
        try {
          await send(t.url.reveal(), formats[t.kind](summary));
        } catch (error) {
          log.warn('notification failed', { kind: t.kind, error: describeError(error).message });
        }
      }),
  );
}
