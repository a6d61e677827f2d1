import { describeError, httpStatusOf } from '../errors.js';

/** Structurally an @azure/functions HttpResponseInit; lib/ stays free of the framework. */
export interface JsonResponse {
  status: number;
  jsonBody: unknown;
  headers?: Record<string, string>;
}

export function jsonResponse(jsonBody: unknown, status = 200): JsonResponse {
  return { status, jsonBody };
}

/**
 * Error → `{ error: code, message }` with the status derived from the error class.
 * Retryable faults get a Retry-After so well-behaved senders back off.
 */
export function errorResponse(error: unknown): JsonResponse {
  const { code, message, retryable } = describeError(error);
  const status = httpStatusOf(error);
  return {
    status,
    jsonBody: { error: code, message },
    ...(status >= 500 && retryable ? { headers: { 'Retry-After': '5' } } : {}),
  };
}

/** Runs an HTTP intake and turns any error into its response; nothing escapes as a thrown error. */
export async function respond(
  run: () => Promise<JsonResponse>,
  onError?: (error: unknown) => void,
): Promise<JsonResponse> {
  try {
    return await run();
  } catch (error) {
    onError?.(error);
    return errorResponse(error);
  }
}
