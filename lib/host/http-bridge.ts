import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HttpRequest as HttpRequestType, HttpResponseInit } from '@azure/functions';
import { HttpRequest } from './functions-runtime.js';

/** node:http request → the HttpRequest the Functions runtime would hand the handler. */
export function toHttpRequest(
  req: IncomingMessage,
  url: URL,
  body: Buffer,
  params: Record<string, string> = {},
): HttpRequestType {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  const method = req.method ?? 'GET';
  const hasBody = body.length > 0 && method !== 'GET' && method !== 'HEAD';
  return new HttpRequest({
    method,
    url: url.href,
    headers,
    query: Object.fromEntries(url.searchParams),
    params,
    ...(hasBody ? { body: { bytes: body } } : {}),
  });
}

/** A handler's HttpResponseInit written to the node:http response. */
export async function writeResponse(res: ServerResponse, init: HttpResponseInit): Promise<void> {
  const headers = new Headers(init.headers as ConstructorParameters<typeof Headers>[0]);
  let payload: string | Uint8Array | undefined;
  if (init.jsonBody !== undefined) {
    payload = JSON.stringify(init.jsonBody);
    if (!headers.has('content-type')) headers.set('content-type', 'application/json; charset=utf-8');
  } else if (typeof init.body === 'string' || init.body instanceof Uint8Array) {
    payload = init.body;
  } else if (init.body !== undefined && init.body !== null) {
    payload = new Uint8Array(
      await new Response(init.body as ConstructorParameters<typeof Response>[0]).arrayBuffer(),
    );
  }
  res.statusCode = init.status ?? 200;
  headers.forEach((value, name) => {
    res.setHeader(name, value);
  });
  res.end(payload);
}

export function writeJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<void> {
  return writeResponse(res, { status, jsonBody: body, headers });
}
