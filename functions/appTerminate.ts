import type { App } from '../lib/app-types.js';

/**
 * What the Functions host allows at shutdown: it drains executions itself (scale-in waits for
 * them, up to 60 minutes on Flex Consumption), then tells the worker to terminate and gives
 * it 5 s, during which the worker runs this hook and exits. Runs still in flight then get
 * `runs.shutdownGraceMs`, cut to 4 s so the hook ends inside those 5 s; the claims of the
 * rest are given back so their redelivery proceeds at once. A forced stop runs nothing: those
 * claims expire after state.inProgressExpiryMs.
 */
export const TERMINATE_GRACE_MS = 4_000;

export const appTerminateHandler = (current: () => Promise<App> | undefined) => async (): Promise<void> => {
  // Never builds an App just to shut it down; the drain logs what it did.
  const app = await current()?.catch(() => undefined);
  await app?.drain(Math.min(app.config.runs.shutdownGraceMs, TERMINATE_GRACE_MS));
};
