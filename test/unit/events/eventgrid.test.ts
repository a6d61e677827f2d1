import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../lib/errors.js';
import {
  parseEventGridEvents,
  safeParseEventGridBody,
  safeParseEventGridEvents,
  safeSubscriptionValidationResponse,
} from '../../../lib/events/eventgrid.js';
import { fixtureJson, fixtureText } from './support.js';

describe('Event Grid schema', () => {
  it('parses the documented Key Vault batch into typed events', () => {
    const result = safeParseEventGridBody(
      fixtureText('eventgrid/keyvault-secret-new-version.eventgrid.json'),
    );

    expect(result.success).toBe(true);
    if (!result.success) return;
    expect(result.data).toHaveLength(1);
    expect(result.data[0]).toMatchObject({
      id: '00eccf70-95a7-4e7c-8299-2eb17ee9ad64',
      eventType: 'Microsoft.KeyVault.SecretNewVersionCreated',
      subject: 'newsecret',
    });
  });

  it('accepts a single event object as a batch of one', () => {
    const [single] = fixtureJson<unknown[]>('eventgrid/keyvault-secret-new-version.eventgrid.json');

    expect(parseEventGridEvents(single)).toHaveLength(1);
  });

  it('parses a batch of every Key Vault event type', () => {
    expect(parseEventGridEvents(fixtureJson('eventgrid/keyvault-all-types.eventgrid.json'))).toHaveLength(10);
  });

  it.each([
    ['an empty array', []],
    ['an event without eventType', [{ id: '1', subject: 's', eventTime: '2024-01-01T00:00:00Z' }]],
    ['an event without id', [{ subject: 's', eventType: 't', eventTime: '2024-01-01T00:00:00Z' }]],
    ['a string', 'hello'],
    ['null', null],
  ])('refuses %s with a ValidationError that names the problem', (_name, body) => {
    const result = safeParseEventGridEvents(body);

    expect(result.success).toBe(false);
    if (result.success) return;
    expect(result.error).toBeInstanceOf(ValidationError);
    expect(result.error.message.length).toBeGreaterThan(10);
  });

  it('refuses malformed JSON without quoting the body', () => {
    const result = safeParseEventGridBody('[{"id": "secret-looking-text"');

    expect(result.success).toBe(false);
    if (result.success) return;
    expect(result.error.message).toMatch(/not valid JSON/);
    expect(result.error.message).not.toContain('secret-looking-text');
  });

  it('answers the subscription validation handshake with the validation code', () => {
    const events = parseEventGridEvents(fixtureJson('eventgrid/subscription-validation.json'));

    const response = safeSubscriptionValidationResponse(events);

    expect(response).toEqual({
      success: true,
      data: { validationResponse: '512d38b6-c7b8-40c8-89fe-f46f9e9622b6' },
    });
  });

  it('refuses a validation delivery whose event carries no validation code', () => {
    const [event] = fixtureJson<Record<string, unknown>[]>('eventgrid/subscription-validation.json');
    const events = parseEventGridEvents([{ ...event, data: {} }]);

    expect(safeSubscriptionValidationResponse(events).success).toBe(false);
  });

  it('refuses a validation delivery that holds no validation event', () => {
    const events = parseEventGridEvents(fixtureJson('eventgrid/keyvault-secret-new-version.eventgrid.json'));

    expect(safeSubscriptionValidationResponse(events).success).toBe(false);
  });
});
