import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { Config } from '../config.js';
import { AuthenticationError } from '../errors.js';

export type WebhookAuthConfig = Pick<Config['webhook'], 'bearerToken' | 'hmacSecret' | 'hmacHeader'>;

/**
 * The audit webhook is reachable from wherever the Vault server is, so it authenticates
 * every request: a bearer token (OpenBao's http audit device can only send static headers)
 * or an HMAC-SHA256 of the raw body in a header (`sha256=<hex>` or bare hex, as relays sign).
 * Either configured credential is enough; a wrong one fails. With neither configured every
 * request is refused: an open endpoint would let anyone trigger restarts.
 */
export function authenticateWebhook(
  header: (name: string) => string | null | undefined,
  rawBody: Uint8Array,
  config: WebhookAuthConfig,
): void {
  if (!config.bearerToken && !config.hmacSecret) {
    throw new AuthenticationError(
      'webhook authentication is not configured, so every request is refused: set ROTOR_WEBHOOK_TOKEN or ROTOR_WEBHOOK_HMAC_SECRET',
    );
  }
  if (config.bearerToken && bearerMatches(header('authorization'), config.bearerToken.reveal())) return;
  if (config.hmacSecret && signatureMatches(header(config.hmacHeader), rawBody, config.hmacSecret.reveal()))
    return;
  const expected = [
    config.bearerToken ? 'Authorization: Bearer <token>' : '',
    config.hmacSecret ? `${config.hmacHeader}: sha256=<hmac>` : '',
  ]
    .filter(Boolean)
    .join(' or ');
  throw new AuthenticationError(`missing or wrong webhook credentials: send ${expected}`);
}

function bearerMatches(authorization: string | null | undefined, token: string): boolean {
  const match = /^Bearer\s+(.+)$/i.exec(authorization?.trim() ?? '');
  return match ? constantTimeEqual(Buffer.from(match[1]!.trim()), Buffer.from(token)) : false;
}

function signatureMatches(signature: string | null | undefined, body: Uint8Array, secret: string): boolean {
  const hex = signature?.trim().replace(/^sha256=/i, '') ?? '';
  if (!/^[0-9a-f]{64}$/i.test(hex)) return false;
  const expected = createHmac('sha256', secret).update(body).digest();
  return constantTimeEqual(Buffer.from(hex, 'hex'), expected);
}

/** Compares digests so neither length nor content leaks through timing. */
function constantTimeEqual(a: Buffer, b: Buffer): boolean {
  const da = createHash('sha256').update(a).digest();
  const db = createHash('sha256').update(b).digest();
  return timingSafeEqual(da, db);
}

/** What a relay puts in the signature header for `body` (tests and docs use it). */
export function signWebhookBody(body: Uint8Array | string, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}
