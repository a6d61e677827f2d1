import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { isIP } from 'node:net';
import { mediaTypeOf } from '../intake/media-type.js';

/**
 * What the local host checks before any handler runs, like the Functions host's key check
 * plus what a host on a developer's machine needs against browsers: a web page can POST
 * to 127.0.0.1 (a "simple" cross-site request) and DNS rebinding makes its own name
 * resolve to 127.0.0.1. So: the Host header must name this host, a request carrying an
 * Origin (browsers send one on every POST and cross-site fetch) is refused, a POST must be
 * JSON (the types a form or a no-cors fetch can send are not), and every route needs the key.
 */
export interface GuardPolicy {
  key: string;
  /** Host header values (lower-case `host:port`) that name this host. */
  hosts: ReadonlySet<string>;
}

export interface Refusal {
  status: 401 | 403 | 415;
  error: string;
  message: string;
}

/** POST bodies a browser form or a no-cors fetch cannot send. OpenBao's audit device sends no type at all. */
const JSON_TYPES = /^application\/([a-z0-9.+-]+\+)?json$|^application\/x-ndjson$/;

export function refusalOf(
  method: string,
  url: URL,
  headers: IncomingHttpHeaders,
  policy: GuardPolicy,
  /** A route with its own media types (the audit route: what log shippers send, or none). */
  options: { mediaTypes?: readonly string[]; allowMissing?: boolean } = {},
): Refusal | undefined {
  const host = (headers.host ?? '').toLowerCase();
  if (!policy.hosts.has(host))
    return { status: 403, error: 'forbidden_host', message: 'the Host header does not name this host' };
  if (headers.origin !== undefined)
    return {
      status: 403,
      error: 'forbidden_origin',
      message: 'requests from web pages (Origin header) are refused',
    };
  const presented = headerOf(headers, 'x-functions-key') ?? url.searchParams.get('code') ?? '';
  if (!sameSecret(presented, policy.key))
    return {
      status: 401,
      error: 'unauthenticated',
      message: 'give the host key as header x-functions-key or query parameter code',
    };
  if (method === 'POST') {
    const type = mediaTypeOf(headerOf(headers, 'content-type'));
    const accepted = options.mediaTypes ? options.mediaTypes.includes(type) : JSON_TYPES.test(type);
    if (!(accepted || (type === '' && options.allowMissing)))
      return {
        status: 415,
        error: 'unsupported_media_type',
        message: `content type '${type || '(none)'}' is not accepted; send application/json`,
      };
  }
  return undefined;
}

/** Host header values that name a host listening on `address:port`: that address, and loopback names for loopback. */
export function hostsFor(address: string, port: number): Set<string> {
  const names = new Set<string>(['localhost']);
  if (!isUnspecified(address))
    names.add(isIP(address) === 6 ? `[${address.toLowerCase()}]` : address.toLowerCase());
  if (isLoopback(address)) for (const name of ['127.0.0.1', '[::1]']) names.add(name);
  return new Set([...names].map((n) => `${n}:${port}`));
}

export function isLoopback(address: string): boolean {
  const a = address.toLowerCase();
  return a === 'localhost' || a === '::1' || /^127\.\d+\.\d+\.\d+$/.test(a) || a === '::ffff:127.0.0.1';
}

function isUnspecified(address: string): boolean {
  return address === '0.0.0.0' || address === '::';
}

/** Constant time in the length and content of both: digests of equal length are compared. */
function sameSecret(presented: string, expected: string): boolean {
  const a = createHash('sha256').update(presented).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b) && expected.length > 0;
}

function headerOf(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}
