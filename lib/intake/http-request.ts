import { checkDeclaredLength, readBodyLimited } from './body-limit.js';

/**
 * The parts of an HTTP request the intake functions read. @azure/functions' HttpRequest
 * satisfies it structurally, so lib/ needs no framework import.
 */
export interface HttpRequestLike {
  headers: { get(name: string): string | null };
  query: { get(name: string): string | null };
  body: AsyncIterable<Uint8Array> | null;
}

export interface RequestBody {
  bytes: Buffer;
  text: string;
}

/** Reads the body within the limit (413 beyond it) and decodes it as UTF-8 without a BOM. */
export async function readRequest(request: HttpRequestLike, maxBytes: number): Promise<RequestBody> {
  checkDeclaredLength(request.headers.get('content-length'), maxBytes);
  const bytes = await readBodyLimited(request.body, maxBytes);
  return { bytes, text: bytes.toString('utf8').replace(/^\uFEFF/, '') };
}

export function headerOf(request: HttpRequestLike): (name: string) => string | null {
  return (name) => request.headers.get(name);
}
