import { describe, expect, it } from 'vitest';
import { AuthenticationError } from '../../../lib/errors.js';
import { authenticateWebhook, signWebhookBody } from '../../../lib/intake/webhook-auth.js';
import { Redacted } from '../../../lib/redacted.js';

const TOKEN = 'bearer-token-for-tests-0123456789';
const SECRET = 'hmac-secret-for-tests-0123456789';
const body = Buffer.from('{"type":"response"}\n');
const headers = (h: Record<string, string>) => (name: string) => h[name];
const config = (c: { bearerToken?: string; hmacSecret?: string }) => ({
  hmacHeader: 'x-rotor-signature',
  ...(c.bearerToken ? { bearerToken: new Redacted(c.bearerToken) } : {}),
  ...(c.hmacSecret ? { hmacSecret: new Redacted(c.hmacSecret) } : {}),
});

describe('webhook authentication', () => {
  it('refuses every request when no credential is configured (fail closed)', () => {
    expect(() =>
      authenticateWebhook(headers({ authorization: `Bearer ${TOKEN}` }), body, config({})),
    ).toThrow(/not configured, so every request is refused/);
  });

  it('accepts the configured bearer token', () => {
    expect(() =>
      authenticateWebhook(
        headers({ authorization: `Bearer ${TOKEN}` }),
        body,
        config({ bearerToken: TOKEN }),
      ),
    ).not.toThrow();
  });

  it.each([
    ['no Authorization header', {}],
    ['a wrong token', { authorization: 'Bearer not-the-token-at-all-000000' }],
    ['a token prefix', { authorization: `Bearer ${TOKEN.slice(0, -1)}` }],
    ['another scheme', { authorization: `Basic ${TOKEN}` }],
  ])('refuses %s with an AuthenticationError', (_name, h) => {
    expect(() => authenticateWebhook(headers(h), body, config({ bearerToken: TOKEN }))).toThrow(
      AuthenticationError,
    );
  });

  it('accepts an HMAC-SHA256 signature of the raw body, prefixed or bare', () => {
    const signature = signWebhookBody(body, SECRET);

    expect(() =>
      authenticateWebhook(headers({ 'x-rotor-signature': signature }), body, config({ hmacSecret: SECRET })),
    ).not.toThrow();
    expect(() =>
      authenticateWebhook(
        headers({ 'x-rotor-signature': signature.slice('sha256='.length) }),
        body,
        config({ hmacSecret: SECRET }),
      ),
    ).not.toThrow();
  });

  it('refuses a signature of another body (tampered) or made with another secret (forged)', () => {
    const tampered = Buffer.from('{"type":"response","x":1}\n');

    expect(() =>
      authenticateWebhook(
        headers({ 'x-rotor-signature': signWebhookBody(body, SECRET) }),
        tampered,
        config({ hmacSecret: SECRET }),
      ),
    ).toThrow(AuthenticationError);
    expect(() =>
      authenticateWebhook(
        headers({ 'x-rotor-signature': signWebhookBody(body, 'another-secret-0123456789') }),
        body,
        config({ hmacSecret: SECRET }),
      ),
    ).toThrow(AuthenticationError);
  });

  it('accepts either credential when both are configured, and says which ones it expects otherwise', () => {
    const both = config({ bearerToken: TOKEN, hmacSecret: SECRET });

    expect(() =>
      authenticateWebhook(headers({ authorization: `Bearer ${TOKEN}` }), body, both),
    ).not.toThrow();
    expect(() =>
      authenticateWebhook(headers({ 'x-rotor-signature': signWebhookBody(body, SECRET) }), body, both),
    ).not.toThrow();
    expect(() => authenticateWebhook(headers({}), body, both)).toThrow(
      /Authorization: Bearer <token> or x-rotor-signature/,
    );
  });
});
