import http from 'node:http';
import https from 'node:https';
import { gunzip, inflate } from 'node:zlib';
import {
  type HttpLibrary,
  type RequestContext,
  ResponseContext,
  wrapHttpLibrary,
} from '@kubernetes/client-node';
import { RotorError } from '../../errors.js';

const RETRIES = 3;
const MAX_BACKOFF_MS = 2_000;

/**
 * The HTTP transport of every typed API call (not watches): one request on the agent the
 * authentication chose (cluster.ts shares a keep-alive one), straight through node:https.
 * client-node's default goes through node-fetch (a WHATWG Request, Headers and body
 * stream per call): on the single-change path that was ~0.5 ms of CPU per call more
 * and up to 3 ms more per PATCH on a busy 2-core machine (bench/analysis.md).
 * Retries what the API server asks to retry: 429 (e.g. "storage is (re)initializing"
 * while a CRD's storage starts) and 503, honouring Retry-After. Bodies are strings, so a
 * request can be sent again as it was.
 */
export const kubeHttp: HttpLibrary = wrapHttpLibrary({
  async send(request): Promise<ResponseContext> {
    for (let attempt = 0; ; attempt++) {
      const response = await sendOnce(request);
      const status = response.httpStatusCode;
      if (attempt >= RETRIES || (status !== 429 && status !== 503)) return response;
      await new Promise((resolve) =>
        setTimeout(resolve, retryAfterMs(response.headers['retry-after'], attempt)),
      );
    }
  },
});

function sendOnce(request: RequestContext): Promise<ResponseContext> {
  const url = new URL(request.getUrl());
  const body = request.getBody();
  if (body !== undefined && typeof body !== 'string')
    return Promise.reject(new RotorError('kube_request', 'an API call with a non-text body', false));
  const transport = url.protocol === 'http:' ? http : https;
  return new Promise((resolve, reject) => {
    const req = transport.request(
      url,
      {
        method: request.getHttpMethod().toString(),
        headers: {
          'accept-encoding': 'gzip, deflate',
          ...request.getHeaders(),
          // Node sends a DELETE's body without a length unless told (DeleteOptions bodies).
          ...(body === undefined ? {} : { 'content-length': String(Buffer.byteLength(body)) }),
        },
        agent: request.getAgent(),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const raw = Buffer.concat(chunks);
          const decoded = decode(raw, res.headers['content-encoding']);
          const headers: Record<string, string> = {};
          for (const [name, value] of Object.entries(res.headers))
            if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
          resolve(
            new ResponseContext(res.statusCode ?? 0, headers, {
              text: async () => (await decoded).toString('utf8'),
              binary: () => decoded,
            }),
          );
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Only large answers (lists) come compressed, and only because the request allowed it. */
function decode(raw: Buffer, encoding: string | undefined): Promise<Buffer> {
  if (encoding !== 'gzip' && encoding !== 'deflate') return Promise.resolve(raw);
  const unzip = encoding === 'gzip' ? gunzip : inflate;
  return new Promise((resolve, reject) => unzip(raw, (error, out) => (error ? reject(error) : resolve(out))));
}

function retryAfterMs(header: string | undefined, attempt: number): number {
  const seconds = header ? Number(header) : Number.NaN;
  return Math.min(Number.isFinite(seconds) ? seconds * 1000 : 200 * 2 ** attempt, MAX_BACKOFF_MS);
}
