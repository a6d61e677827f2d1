/**
 * A lost state store is recovered without a restart of rotor: the storage emulator is
 * killed and started again, empty, under a running host (as when a storage account is
 * recreated or a purge removes the table), and the next delivery succeeds.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../../lib/app.js';
import type { App } from '../../../lib/app-types.js';
import { parseConfig } from '../../../lib/config.js';
import { type RunningHost, startHost } from '../../../lib/host/server.js';
import { createLogger, createTelemetry } from '../../../lib/telemetry.js';
import { type Azurite, startAzurite } from '../../env/azurite.js';
import { freshEvents, notify } from '../host/support.js';

let azurite: Azurite;
let app: App;
let host: RunningHost;
const logLines: string[] = [];

beforeAll(async () => {
  azurite = await startAzurite();
  const config = parseConfig({
    keyVaults: [{ name: 'sample-kv' }],
    state: { connectionString: azurite.tableConnectionString },
    port: 0,
  });
  const write = (line: string) => logLines.push(line);
  app = await createApp(config, { telemetry: createTelemetry({ logLevel: 'debug' }, { write }) });
  host = await startHost({ app, log: createLogger('debug', write), port: 0, timers: false });
});

afterAll(async () => {
  await host?.close();
  await app?.close();
  await azurite?.stop();
});

const newVersionEvent = () => freshEvents('eventgrid/keyvault-secret-new-version.eventgrid.json');

describe('state store lost under a running host', () => {
  it('answers 503 while the store is down, logs the cause, and the next delivery after it comes back (empty) succeeds', async () => {
    expect((await notify(host, newVersionEvent())).status).toBe(200);
    const port = Number(new URL(azurite.tableUrl).port);

    await azurite.stop();
    const whileDown = await notify(host, newVersionEvent());
    expect(whileDown.status).toBe(503);
    const refused = logLines.filter((l) => l.includes('event grid delivery refused'));

    azurite = await startAzurite({ port });
    const afterRestart = await notify(host, newVersionEvent());
    expect(afterRestart.status, await afterRestart.clone().text()).toBe(200);
    // the 503 said why, down to the store's answer
    expect(refused.at(-1)).toMatch(/"cause":"[^"]*ECONNREFUSED/);

    // and exactly-once holds again on the recreated table
    const event = newVersionEvent();
    expect((await notify(host, event)).status).toBe(200);
    const redelivery = await notify(host, event);
    expect(
      ((await redelivery.json()) as { results: Array<{ outcome: { status: string } }> }).results[0]?.outcome
        .status,
    ).toBe('duplicate');
  });

  it('recreates a table deleted behind its back on the next call', async () => {
    const { TableClient } = await import('@azure/data-tables');
    const table = TableClient.fromConnectionString(azurite.tableConnectionString, 'rotoridempotency', {
      allowInsecureConnection: true,
    });
    await table.deleteTable();

    const res = await notify(host, [{ ...newVersionEvent()[0], id: randomUUID() }]);

    expect(res.status, await res.clone().text()).toBe(200);
  });
});
