/**
 * The HTTP status a client library's failure carries, whichever library threw it:
 * client-node's ApiException (`code`), its watch errors and Azure's RestError
 * (`statusCode`), node-vault's response error (`response.statusCode`). Undefined for
 * network faults (their `code` is a string such as ECONNRESET).
 */
export function statusOf(error: unknown): number | undefined {
  const e = error as { statusCode?: unknown; code?: unknown; response?: { statusCode?: unknown } } | null;
  if (typeof e?.statusCode === 'number') return e.statusCode;
  if (typeof e?.code === 'number') return e.code;
  const response = e?.response?.statusCode;
  return typeof response === 'number' ? response : undefined;
}
