import { pathToFileURL } from 'node:url';
import { createApp } from '../app.js';
import type { App } from '../app-types.js';
import { loadConfig } from '../config/load.js';
import { describeError } from '../errors.js';
import { createLogger } from '../telemetry.js';
import { type RunningHost, startHost } from './server.js';

/**
 * `npm start`: build the App (configuration from the environment and .env: lib/config/), serve
 * the Functions routes on PORT (7071) and run the timer until SIGINT/SIGTERM, which drain:
 * no new connections, runs in flight get runs.shutdownGraceMs to finish and answer, the
 * claims of the rest are given back (their senders get 503 and deliver again at once); a
 * second signal exits without waiting. Tests pass their own App.
 */
export async function main(given?: App): Promise<RunningHost> {
  const app = given ?? (await createApp(loadConfig()));
  const { config } = app;
  const log = createLogger(config.telemetry.logLevel);
  if (config.clusters.length === 0 && config.keyVaults.length === 0 && config.vaults.length === 0) {
    log.info(
      'nothing to do: no clusters, Key Vaults or Vault servers are configured; events will be acknowledged and ignored',
    );
  }
  const host = await startHost({ app, log });
  // In the background: the first event should not pay for the consumer index and TLS set-up.
  void app.warm();
  void app.resumeVerifications(); // a rotation this host was verifying before it restarted
  log.info('rotor host listening', {
    url: host.url,
    eventGrid: `${host.url}/runtime/webhooks/eventgrid?functionName=keyVaultEvents&code=<key>`,
    // Where the key is, never the key itself.
    key: host.keyFile ? `generated, in ${host.keyFile} (0600)` : 'ROTOR_HOST_KEY',
  });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      log.warn('second signal: exiting without waiting', { signal });
      process.exit(1);
    }
    stopping = true;
    const graceMs = config.runs.shutdownGraceMs;
    log.info('stopping: no new connections, runs in flight get the grace period', { signal, graceMs });
    void host
      .shutdown(graceMs)
      .then(() => app.close())
      .catch((error: unknown) => log.error('shutdown failed', { error: describeError(error).message }))
      .finally(() => process.exit(0));
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  return host;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
