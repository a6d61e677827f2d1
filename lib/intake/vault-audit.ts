import type { App } from '../app-types.js';
import { unwrap } from '../events/result.js';
import { safeDecodeVaultAudit } from '../events/vault-audit.js';
import { dispatch } from './dispatch.js';
import { type HttpRequestLike, headerOf, readRequest } from './http-request.js';
import { type JsonResponse, jsonResponse } from './http-response.js';
import { requireMediaType } from './media-type.js';
import { authenticateWebhook } from './webhook-auth.js';

/** What the audit device and common shippers send; OpenBao's http device sends no Content-Type at all. */
export const AUDIT_MEDIA_TYPES = [
  'application/json',
  'application/x-ndjson',
  'application/jsonl',
  'application/json-lines',
  'application/stream+json',
  'text/plain',
] as const;

/**
 * POST /api/vault-audit. Authentication comes before parsing, so an unauthenticated caller
 * learns nothing about the payload rules. Answers 2xx for everything it deliberately
 * ignores: OpenBao's http audit device is synchronous, and a non-2xx answer from the only
 * audit device fails the Vault request that was being audited.
 */
export async function handleVaultAudit(app: App, request: HttpRequestLike): Promise<JsonResponse> {
  const { webhook, vaults } = app.config;
  const body = await readRequest(request, webhook.maxBodyBytes);
  authenticateWebhook(headerOf(request), body.bytes, webhook);
  requireMediaType(request.headers.get('content-type'), AUDIT_MEDIA_TYPES, true);
  const decoded = unwrap(
    safeDecodeVaultAudit(body.text, { vaults, server: request.query.get('vault'), receivedAt: new Date() }),
  );
  const { outcomes, ignored } = await dispatch(app, decoded, 'vault-audit');
  return jsonResponse({ processed: outcomes.length, ignored, outcomes });
}
