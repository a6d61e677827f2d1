import { describe, expect, it } from 'vitest';
import { vaultAuditHandler } from '../../../functions/vaultAudit.js';
import { TransientError } from '../../../lib/errors.js';
import { signWebhookBody } from '../../../lib/intake/webhook-auth.js';
import { fixtureText, testConfig } from '../events/support.js';
import { appSlot, recordingApp } from './recording-app.js';
import { loggedContext, post } from './support.js';

const TOKEN = 'test-bearer-token-0123456789';
const entry = () => fixtureText('vault-audit/openbao-kv2-write.json');
const call = (request: ReturnType<typeof post>) => vaultAudit(request, loggedContext('vaultAudit').context);

const slot = appSlot();
const vaultAudit = vaultAuditHandler(slot.source);

describe('vaultAudit (POST /api/vault-audit)', () => {
  it('processes an authenticated OpenBao entry sent without Content-Type, as the http audit device does', async () => {
    const app = recordingApp({ config: testConfig() });
    slot.use(app);

    const response = await call(post('vault-audit', entry(), { authorization: `Bearer ${TOKEN}` }));

    expect(response.status).toBe(200);
    expect(response.jsonBody).toMatchObject({ processed: 1, ignored: [] });
    expect(app.processed[0]).toMatchObject({
      ref: { mount: 'secret', path: 'app-db' },
      source: 'vault-audit',
    });
  });

  it('accepts an HMAC-signed NDJSON batch and reports what it ignored', async () => {
    const app = recordingApp({ config: testConfig() });
    slot.use(app);
    const body = fixtureText('vault-audit/openbao-2.7.2-session.ndjson');

    const response = await call(
      post('vault-audit', body, {
        'x-rotor-signature': signWebhookBody(body, 'test-hmac-secret-0123456789'),
        'content-type': 'application/x-ndjson',
      }),
    );

    expect(response.status).toBe(200);
    expect(response.jsonBody).toMatchObject({ processed: 12 });
    expect(app.ignored).toHaveLength(51 - 12);
  });

  it.each([
    ['no credentials', {}],
    ['a wrong bearer token', { authorization: 'Bearer not-the-right-token-000' }],
    ['a forged signature', { 'x-rotor-signature': signWebhookBody('{}', 'test-hmac-secret-0123456789') }],
  ])('answers 401 to a request with %s and processes nothing', async (_name, headers) => {
    const app = recordingApp({ config: testConfig() });
    slot.use(app);

    const response = await call(post('vault-audit', entry(), headers));

    expect(response.status).toBe(401);
    expect(response.jsonBody).toMatchObject({ error: 'unauthenticated' });
    expect(app.processed).toHaveLength(0);
  });

  it('refuses every request when no webhook credential is configured (fail closed)', async () => {
    slot.use(recordingApp({ config: testConfig({ webhook: {} }) }));

    const response = await call(post('vault-audit', entry(), { authorization: `Bearer ${TOKEN}` }));

    expect(response.status).toBe(401);
  });

  it.each([
    [
      '415 for a wrong content type',
      entry(),
      { 'content-type': 'application/xml' },
      415,
      'unsupported_media_type',
    ],
    ['400 for malformed NDJSON', '{"type":"response"}\n{oops', {}, 400, 'invalid_input'],
    ['413 for a body over the limit', `${entry()}${' '.repeat(2048)}`, {}, 413, 'payload_too_large'],
  ])('answers %s', async (_name, body, headers, status, code) => {
    slot.use(recordingApp({ config: testConfig({ webhook: { bearerToken: TOKEN, maxBodyBytes: 2048 } }) }));

    const response = await call(post('vault-audit', body, { authorization: `Bearer ${TOKEN}`, ...headers }));

    expect(response.status).toBe(status);
    expect(response.jsonBody).toMatchObject({ error: code });
  });

  it('answers 2xx and ignores entries for a Vault server that is not configured', async () => {
    const app = recordingApp({ config: testConfig() });
    slot.use(app);

    const response = await call(
      post('vault-audit', entry(), { authorization: `Bearer ${TOKEN}` }, '?vault=elsewhere'),
    );

    expect(response.status).toBe(200);
    expect(response.jsonBody).toMatchObject({
      processed: 0,
      ignored: [{ reason: expect.stringMatching(/'elsewhere' is not configured/) }],
    });
  });

  it('answers 503 with Retry-After when the pipeline fails transiently', async () => {
    slot.use(
      recordingApp({
        config: testConfig(),
        onProcess: () => Promise.reject(new TransientError('OpenBao sealed')),
      }),
    );

    const response = await call(post('vault-audit', entry(), { authorization: `Bearer ${TOKEN}` }));

    expect(response.status).toBe(503);
    expect(response.headers).toMatchObject({ 'Retry-After': '5' });
  });
});
