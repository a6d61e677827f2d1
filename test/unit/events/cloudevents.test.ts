import { describe, expect, it } from 'vitest';
import {
  CLOUDEVENTS_BATCH_MEDIA_TYPE,
  CLOUDEVENTS_MEDIA_TYPE,
  looksLikeCloudEvent,
  safeAbuseProtectionResponse,
  safeParseCloudEvents,
} from '../../../lib/events/cloudevents.js';
import { fixtureJson } from './support.js';

describe('CloudEvents 1.0', () => {
  it('parses the documented Key Vault batch as application/cloudevents-batch+json', () => {
    const result = safeParseCloudEvents(
      fixtureJson('eventgrid/keyvault-secret-new-version.cloudevents.json'),
      CLOUDEVENTS_BATCH_MEDIA_TYPE,
    );

    expect(result.success && result.data[0]).toMatchObject({
      specversion: '1.0',
      type: 'Microsoft.KeyVault.SecretNewVersionCreated',
      subject: 'newsecret',
    });
  });

  it('parses one event as application/cloudevents+json', () => {
    const result = safeParseCloudEvents(
      fixtureJson('eventgrid/keyvault-secret-new-version.cloudevent.json'),
      CLOUDEVENTS_MEDIA_TYPE,
    );

    expect(result.success && result.data).toHaveLength(1);
  });

  it('refuses a single object sent as a batch, and an array sent as a single event', () => {
    const single = fixtureJson('eventgrid/keyvault-secret-new-version.cloudevent.json');
    const batch = fixtureJson('eventgrid/keyvault-secret-new-version.cloudevents.json');

    expect(safeParseCloudEvents(single, CLOUDEVENTS_BATCH_MEDIA_TYPE).success).toBe(false);
    expect(safeParseCloudEvents(batch, CLOUDEVENTS_MEDIA_TYPE).success).toBe(false);
  });

  it('refuses an event of another spec version', () => {
    const event = {
      ...fixtureJson<Record<string, unknown>>('eventgrid/keyvault-secret-new-version.cloudevent.json'),
      specversion: '0.3',
    };

    const result = safeParseCloudEvents(event);

    expect(result.success).toBe(false);
    if (!result.success) expect(result.error.message).toMatch(/specversion/);
  });

  it('tells CloudEvents from Event Grid schema events by specversion', () => {
    expect(looksLikeCloudEvent(fixtureJson('eventgrid/keyvault-secret-new-version.cloudevents.json'))).toBe(
      true,
    );
    expect(looksLikeCloudEvent(fixtureJson('eventgrid/keyvault-secret-new-version.eventgrid.json'))).toBe(
      false,
    );
  });

  it('allows the origin of an OPTIONS abuse-protection request, at any rate', () => {
    const headers: Record<string, string> = {
      'webhook-request-origin': 'eventgrid.azure.net',
      'webhook-request-rate': '120',
    };

    const response = safeAbuseProtectionResponse((name) => headers[name]);

    expect(response.success && response.data.headers).toMatchObject({
      'WebHook-Allowed-Origin': 'eventgrid.azure.net',
      'WebHook-Allowed-Rate': '*',
    });
  });

  it('refuses an OPTIONS request without WebHook-Request-Origin', () => {
    expect(safeAbuseProtectionResponse(() => undefined).success).toBe(false);
  });
});
