import { createApp } from './app.js';
import type { App } from './app-types.js';
import { loadConfig } from './config/load.js';

/*
 * The one App of an Azure Functions worker process. The local host builds its own App; this
 * is the process-wide instance the Functions entry points share, kept apart from the
 * composition root so createApp stays a pure function of its inputs.
 */
let current: Promise<App> | undefined;
/** The Functions entry points' App if one was built (a shutdown hook must not build one). */
export function builtApp(): Promise<App> | undefined {
  return current;
}

/** The Functions entry points' App: built once per process, on first use, from the environment. */
export function getApp(): Promise<App> {
  current ??= createApp(loadConfig()).then(
    (app) => {
      void app.resumeVerifications(); // a rotation a stopped worker was verifying
      return app;
    },
    (error: unknown) => {
      current = undefined; // a failed start is retried by the next invocation
      throw error;
    },
  );
  return current;
}
