import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signWebhookBody } from '../../../lib/intake/webhook-auth.js';
import { fixtureText } from '../../unit/events/support.js';
import {
  apiUrl,
  eventGridUrl,
  freshEvents,
  HMAC,
  type HostUnderTest,
  startHostUnderTest,
  TOKEN,
} from './support.js';

let running: HostUnderTest;
beforeAll(async () => {
  running = await startHostUnderTest();
});
afterAll(() => running.host.close());

interface Case {
  name: string;
  path: 'eventgrid' | 'vault-audit' | 'rotate';
  method?: string;
  headers?: Record<string, string>;
  body?: string | (() => string);
  status: number;
  /** What the body's `error` is, or a text the ignored reason matches. */
  expect?: RegExp;
}

const event = () => freshEvents('eventgrid/keyvault-secret-new-version.eventgrid.json');
const withEvent = (patch: Record<string, unknown>) => () =>
  JSON.stringify(event().map((e) => ({ ...e, ...patch })));
const auditEntry = fixtureText('vault-audit/openbao-kv2-write.json');
const oversized = 'x'.repeat(70 * 1024);
const eg = { 'content-type': 'application/json', 'aeg-event-type': 'Notification' };
const bearer = { authorization: `Bearer ${TOKEN}` };

const CASES: Case[] = [
  {
    name: 'Event Grid: malformed JSON',
    path: 'eventgrid',
    headers: eg,
    body: '[{"id": ',
    status: 400,
    expect: /invalid_input/,
  },
  {
    name: 'Event Grid: wrong content type',
    path: 'eventgrid',
    headers: { ...eg, 'content-type': 'text/plain' },
    body: withEvent({}),
    status: 415,
    expect: /unsupported_media_type/,
  },
  {
    name: 'Event Grid: missing eventType',
    path: 'eventgrid',
    headers: eg,
    body: withEvent({ eventType: undefined }),
    status: 400,
    expect: /invalid_input/,
  },
  {
    name: 'Event Grid: empty batch',
    path: 'eventgrid',
    headers: eg,
    body: '[]',
    status: 400,
    expect: /invalid_input/,
  },
  {
    name: 'Event Grid: unknown event type (ignored)',
    path: 'eventgrid',
    headers: eg,
    body: withEvent({ eventType: 'Microsoft.Storage.BlobCreated' }),
    status: 200,
    expect: /not a Key Vault event/,
  },
  {
    name: 'Event Grid: unknown aeg-event-type',
    path: 'eventgrid',
    headers: { ...eg, 'aeg-event-type': 'Bogus' },
    body: withEvent({}),
    status: 400,
    expect: /aeg-event-type/,
  },
  {
    name: 'Event Grid: oversized body',
    path: 'eventgrid',
    headers: eg,
    body: oversized,
    status: 413,
    expect: /payload_too_large/,
  },
  {
    name: 'Event Grid: validation without code',
    path: 'eventgrid',
    headers: { ...eg, 'aeg-event-type': 'SubscriptionValidation' },
    body: withEvent({ eventType: 'Microsoft.EventGrid.SubscriptionValidationEvent', data: {} }),
    status: 400,
    expect: /validationCode/,
  },
  {
    name: 'Event Grid: event for an unconfigured vault (ignored)',
    path: 'eventgrid',
    headers: eg,
    body: withEvent({
      topic: '/subscriptions/s/resourceGroups/r/providers/Microsoft.KeyVault/vaults/unknown-kv',
      data: { ObjectName: 'x' },
    }),
    status: 200,
    expect: /'unknown-kv' is not configured/,
  },
  {
    name: 'Event Grid: topic and data name different vaults',
    path: 'eventgrid',
    headers: eg,
    body: withEvent({ data: { VaultName: 'forged-kv', ObjectName: 'x' } }),
    status: 400,
    expect: /topic names vault/,
  },
  {
    name: 'CloudEvents: batch media type with one object',
    path: 'eventgrid',
    headers: { 'content-type': 'application/cloudevents-batch+json' },
    body: fixtureText('eventgrid/keyvault-secret-new-version.cloudevent.json'),
    status: 400,
    expect: /JSON array/,
  },
  {
    name: 'CloudEvents: OPTIONS without WebHook-Request-Origin',
    path: 'eventgrid',
    method: 'OPTIONS',
    status: 400,
    expect: /WebHook-Request-Origin/,
  },
  {
    name: 'audit: unsigned request',
    path: 'vault-audit',
    body: auditEntry,
    status: 401,
    expect: /unauthenticated/,
  },
  {
    name: 'audit: wrong bearer token',
    path: 'vault-audit',
    headers: { authorization: 'Bearer wrong-token-0123456789abcdef' },
    body: auditEntry,
    status: 401,
    expect: /unauthenticated/,
  },
  {
    name: 'audit: forged signature',
    path: 'vault-audit',
    headers: { 'x-rotor-signature': signWebhookBody(auditEntry, 'guessed-secret-0123456789') },
    body: auditEntry,
    status: 401,
    expect: /unauthenticated/,
  },
  {
    name: 'audit: signature of another body',
    path: 'vault-audit',
    headers: { 'x-rotor-signature': signWebhookBody('{}', HMAC) },
    body: auditEntry,
    status: 401,
    expect: /unauthenticated/,
  },
  {
    name: 'audit: malformed NDJSON',
    path: 'vault-audit',
    headers: bearer,
    body: `${auditEntry}{"type":`,
    status: 400,
    expect: /invalid_input/,
  },
  {
    name: 'audit: entry without type',
    path: 'vault-audit',
    headers: bearer,
    body: '{"request":{"id":"x"}}',
    status: 400,
    expect: /invalid_input/,
  },
  {
    name: 'audit: wrong content type',
    path: 'vault-audit',
    headers: { ...bearer, 'content-type': 'application/xml' },
    body: auditEntry,
    status: 415,
    expect: /unsupported_media_type/,
  },
  {
    name: 'audit: oversized body',
    path: 'vault-audit',
    headers: bearer,
    body: oversized,
    status: 413,
    expect: /payload_too_large/,
  },
  {
    name: 'audit: read entry (ignored)',
    path: 'vault-audit',
    headers: bearer,
    body: fixtureText('vault-audit/openbao-2.7.2-session.ndjson').split('\n')[14],
    status: 200,
    expect: /'read' does not change a secret/,
  },
  {
    name: 'audit: unconfigured Vault server (ignored)',
    path: 'vault-audit',
    headers: bearer,
    body: auditEntry,
    status: 200,
    expect: /'elsewhere' is not configured/,
  },
  {
    name: 'rotate: missing fields',
    path: 'rotate',
    headers: { 'content-type': 'application/json' },
    body: '{"keyVault":"sample-kv"}',
    status: 400,
    expect: /invalid_input/,
  },
  {
    name: 'rotate: unconfigured vault',
    path: 'rotate',
    headers: { 'content-type': 'application/json' },
    body: '{"keyVault":"elsewhere","name":"x"}',
    status: 400,
    expect: /not configured/,
  },
  {
    name: 'rotate: oversized body',
    path: 'rotate',
    headers: { 'content-type': 'application/json' },
    body: oversized,
    status: 413,
    expect: /payload_too_large/,
  },
];

function urlOf(c: Case): string {
  if (c.path === 'eventgrid') return eventGridUrl(running.host);
  return apiUrl(running.host, c.path, c.name.includes('unconfigured Vault server') ? 'vault=elsewhere' : '');
}

describe('bad input gets the status that makes the sender do the right thing', () => {
  it.each(CASES)('$name → $status', async (c) => {
    const before = { processed: running.app.processed.length, manual: running.app.manual.length };
    const body = typeof c.body === 'function' ? c.body() : c.body;

    const res = await fetch(urlOf(c), {
      method: c.method ?? 'POST',
      headers: c.headers ?? {},
      ...(body !== undefined ? { body } : {}),
    });
    const text = await res.text();

    expect(res.status).toBe(c.status);
    if (c.expect) expect(text).toMatch(c.expect);
    expect(running.app.processed.length).toBe(before.processed);
    expect(running.app.manual.length).toBe(before.manual);
  });

  it('still processes a good event after all of that', async () => {
    const res = await fetch(eventGridUrl(running.host), {
      method: 'POST',
      headers: eg,
      body: JSON.stringify(event()),
    });

    expect(res.status).toBe(200);
    expect(running.app.processed.at(-1)?.id).toMatch(/^[0-9a-f-]{36}$/);
  });
});
