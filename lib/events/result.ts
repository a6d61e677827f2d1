import { ValidationError } from '../errors.js';

/**
 * What every parser in lib/events returns: the typed value, or the ValidationError that
 * says why the input was refused. The throwing variants are built on it with `unwrap`.
 */
export type ParseResult<T> = { success: true; data: T } | { success: false; error: ValidationError };

export function ok<T>(data: T): ParseResult<T> {
  return { success: true, data };
}

export function fail<T = never>(message: string, issues: string[] = []): ParseResult<T> {
  return { success: false, error: new ValidationError(message, issues) };
}

export function unwrap<T>(result: ParseResult<T>): T {
  if (!result.success) throw result.error;
  return result.data;
}

/** zod issues as `path: message`, the way ValidationError lists them. */
export function zodIssues(issues: ReadonlyArray<{ path: PropertyKey[]; message: string }>): string[] {
  return issues.map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`);
}
