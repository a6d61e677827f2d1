import { PayloadTooLargeError } from '../errors.js';

/**
 * Inbound bodies are capped at `config.webhook.maxBodyBytes` (default 1 MiB, the largest
 * batch Event Grid delivers). A larger body is refused with 413, which Event Grid
 * dead-letters at once instead of retrying a payload that can never fit.
 */
export function checkDeclaredLength(contentLength: string | null | undefined, maxBytes: number): void {
  if (!contentLength) return;
  const declared = Number(contentLength);
  if (Number.isFinite(declared) && declared > maxBytes) throw new PayloadTooLargeError(maxBytes);
}

/** Reads a body, stopping as soon as it passes the limit so an oversized upload is not buffered whole. */
export async function readBodyLimited(
  body: AsyncIterable<Uint8Array | string> | null | undefined,
  maxBytes: number,
): Promise<Buffer> {
  if (!body) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk);
    size += bytes.length;
    if (size > maxBytes) throw new PayloadTooLargeError(maxBytes);
    chunks.push(bytes);
  }
  return Buffer.concat(chunks, size);
}
