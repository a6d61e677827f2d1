import { fail, ok, type ParseResult } from './result.js';

/**
 * JSON.parse that never throws. The reason names the position only: V8's message quotes
 * the body, and a body may hold (HMAC'd or raw) secret material that must not reach logs.
 */
export function parseJson(text: string, what = 'body'): ParseResult<unknown> {
  try {
    return ok(JSON.parse(text) as unknown);
  } catch (error) {
    const position = /position (\d+)/.exec(String((error as Error).message))?.[1];
    return fail(`${what} is not valid JSON${position ? ` (at character ${position})` : ''}`);
  }
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
