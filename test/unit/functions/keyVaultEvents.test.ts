import { describe, expect, it } from 'vitest';
import { keyVaultEventsHandler } from '../../../functions/keyVaultEvents.js';
import { ForbiddenError, TransientError } from '../../../lib/errors.js';
import { fixtureJson, testConfig } from '../events/support.js';
import { appSlot, recordingApp } from './recording-app.js';
import { loggedContext } from './support.js';

const eventGridEvent = () =>
  fixtureJson<Record<string, unknown>[]>('eventgrid/keyvault-secret-new-version.eventgrid.json')[0]!;
const allTypes = () => fixtureJson<Record<string, unknown>[]>('eventgrid/keyvault-all-types.eventgrid.json');

const slot = appSlot();
const keyVaultEvents = keyVaultEventsHandler(slot.source);

describe('keyVaultEvents (Event Grid trigger)', () => {
  it('runs a SecretNewVersionCreated event through the App as a change of that secret', async () => {
    const app = recordingApp({ config: testConfig() });
    slot.use(app);
    const { context } = loggedContext('keyVaultEvents');

    const result = await keyVaultEvents(eventGridEvent(), context);

    expect(result.status).toBe('processed');
    expect(app.processed).toHaveLength(1);
    expect(app.processed[0]).toMatchObject({
      ref: { vault: 'sample-kv', name: 'newsecret' },
      kind: 'changed',
      source: 'eventgrid',
    });
  });

  it('runs the CloudEvents form of the event the same way', async () => {
    const app = recordingApp({ config: testConfig() });
    slot.use(app);

    const result = await keyVaultEvents(
      fixtureJson('eventgrid/keyvault-secret-new-version.cloudevent.json'),
      loggedContext('keyVaultEvents').context,
    );

    expect(result.status).toBe('processed');
    expect(app.processed[0]?.id).toBe('00eccf70-95a7-4e7c-8299-2eb17ee9ad64');
  });

  it('acknowledges a key event without processing and records why', async () => {
    const app = recordingApp({ config: testConfig() });
    slot.use(app);
    const keyEvent = allTypes().find((e) => e.eventType === 'Microsoft.KeyVault.KeyNewVersionCreated')!;

    const result = await keyVaultEvents(keyEvent, loggedContext('keyVaultEvents').context);

    expect(result).toMatchObject({
      status: 'ignored',
      reason: expect.stringMatching(/keys are not consumed/),
    });
    expect(app.processed).toHaveLength(0);
    expect(app.ignored).toEqual([
      { event: { id: keyEvent.id, reason: expect.any(String) }, source: 'eventgrid' },
    ]);
  });

  it('logs and acknowledges an invalid event instead of throwing (Event Grid would retry for 24 h)', async () => {
    const app = recordingApp({ config: testConfig() });
    slot.use(app);
    const { context, logs } = loggedContext('keyVaultEvents');
    const invalid = { ...eventGridEvent(), data: { VaultName: 'not-the-topic-vault', ObjectName: 'x' } };

    const result = await keyVaultEvents(invalid, context);

    expect(result.status).toBe('invalid');
    expect(logs).toEqual([
      expect.objectContaining({
        level: 'warning',
        message: expect.stringMatching(/invalid and is acknowledged/),
      }),
    ]);
    expect(app.ignored[0]?.event.reason).toMatch(/^invalid: /);
  });

  it('throws a retryable failure so Event Grid redelivers the event', async () => {
    slot.use(
      recordingApp({
        config: testConfig(),
        onProcess: () => Promise.reject(new TransientError('API server unreachable')),
      }),
    );

    await expect(
      keyVaultEvents(eventGridEvent(), loggedContext('keyVaultEvents').context),
    ).rejects.toBeInstanceOf(TransientError);
  });

  it('returns a permanent failure without throwing, logged as an error', async () => {
    slot.use(
      recordingApp({
        config: testConfig(),
        onProcess: () => Promise.reject(new ForbiddenError('rotor may not patch')),
      }),
    );
    const { context, logs } = loggedContext('keyVaultEvents');

    const result = await keyVaultEvents(eventGridEvent(), context);

    expect(result.status).toBe('failed');
    expect(logs.map((l) => l.level)).toEqual(['error']);
  });

  it('ignores an event of a vault rotor is not configured for', async () => {
    const app = recordingApp({ config: testConfig({ keyVaults: [] }) });
    slot.use(app);

    const result = await keyVaultEvents(eventGridEvent(), loggedContext('keyVaultEvents').context);

    expect(result).toMatchObject({
      status: 'ignored',
      reason: expect.stringMatching(/'sample-kv' is not configured/),
    });
  });
});
