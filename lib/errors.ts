/**
 * Every failure rotor reports is a RotorError: a stable `code` for machines, a message a
 * user can act on, `retryable` to decide between "tell the sender to retry" and "drop it",
 * and the original `cause`. The HTTP status is derived from the class in one place
 * (`httpStatusOf`) so entry points never choose status codes themselves.
 */
export interface RotorErrorOptions {
  cause?: unknown;
  details?: Record<string, unknown>;
}

export class RotorError extends Error {
  readonly code: string;
  readonly retryable: boolean;
  readonly details: Record<string, unknown>;

  constructor(code: string, message: string, retryable: boolean, options: RotorErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retryable = retryable;
    this.details = options.details ?? {};
  }
}

/** Input that will never become valid by retrying: 400, Event Grid dead-letters it. */
export class ValidationError extends RotorError {
  readonly issues: string[];
  constructor(message: string, issues: string[] = [], options: RotorErrorOptions = {}) {
    super('invalid_input', issues.length > 0 ? `${message}: ${issues.join('; ')}` : message, false, options);
    this.issues = issues;
  }
}

/** Unsupported media type: 415. */
export class UnsupportedMediaTypeError extends RotorError {
  constructor(message: string, options: RotorErrorOptions = {}) {
    super('unsupported_media_type', message, false, options);
  }
}

/** Body larger than the documented limit: 413, dead-lettered. */
export class PayloadTooLargeError extends RotorError {
  constructor(
    readonly limitBytes: number,
    options: RotorErrorOptions = {},
  ) {
    super('payload_too_large', `request body exceeds the ${limitBytes}-byte limit`, false, options);
  }
}

/** Missing or wrong credentials on an inbound request: 401. */
export class AuthenticationError extends RotorError {
  constructor(message: string, options: RotorErrorOptions = {}) {
    super('unauthenticated', message, false, options);
  }
}

/** Configuration is wrong; lists every problem at once. */
export class ConfigError extends RotorError {
  readonly issues: string[];
  constructor(issues: string[], options: RotorErrorOptions = {}) {
    super('invalid_config', `configuration is invalid:\n  - ${issues.join('\n  - ')}`, false, options);
    this.issues = issues;
  }
}

/** A thing the caller named does not exist (secret, cluster, vault). */
export class NotFoundError extends RotorError {
  constructor(message: string, options: RotorErrorOptions = {}) {
    super('not_found', message, false, options);
  }
}

/** Optimistic concurrency lost (CAS mismatch, 409, lease held elsewhere). */
export class ConflictError extends RotorError {
  constructor(message: string, options: RotorErrorOptions = {}) {
    super('conflict', message, true, options);
  }
}

/** Permission denied by a backend or cluster: not retryable until someone grants it. */
export class ForbiddenError extends RotorError {
  constructor(message: string, options: RotorErrorOptions = {}) {
    super('forbidden', message, false, options);
  }
}

/** Network faults, 5xx, throttling: the sender should retry. */
export class TransientError extends RotorError {
  constructor(message: string, options: RotorErrorOptions = {}) {
    super('transient', message, true, options);
  }
}

/** A bound passed before the work finished (an operator's sync, a cluster's share of a run): retry. */
export class TimeoutError extends RotorError {
  constructor(message: string, options: RotorErrorOptions = {}) {
    super('timeout', message, true, options);
  }
}

/**
 * An operator (ESO, VSO) reported that it could not sync the object rotor forced: the
 * backend refused it, a template failed. Its own retries go on; a redelivery would only
 * force it into the same failure.
 */
export class SyncFailedError extends RotorError {
  constructor(message: string, options: RotorErrorOptions = {}) {
    super('sync_failed', message, false, options);
  }
}

/** One of rotor's own invariants broke (a bug): a retry would meet it again. */
export class InternalError extends RotorError {
  constructor(message: string, options: RotorErrorOptions = {}) {
    super('internal', message, false, options);
  }
}

/** Status code for a response, derived from the error class and nothing else. */
export function httpStatusOf(error: unknown): number {
  if (error instanceof ValidationError) return 400;
  if (error instanceof AuthenticationError) return 401;
  if (error instanceof ForbiddenError) return 403;
  if (error instanceof NotFoundError) return 404;
  if (error instanceof PayloadTooLargeError) return 413;
  if (error instanceof UnsupportedMediaTypeError) return 415;
  if (error instanceof ConfigError) return 500;
  if (error instanceof RotorError) return error.retryable ? 503 : 500;
  return 500;
}

/**
 * A failure as outcomes, responses and logs carry it: `code` is stable (metrics and
 * notifications key on it; RotorError's codes, `internal` for anything else), `message` is
 * for people, `retryable` says whether delivering the event again may succeed.
 */
export interface Failure {
  code: string;
  message: string;
  retryable: boolean;
}

/** A message safe to log or return: the error's own message, never a payload. */
export function describeError(error: unknown): Failure {
  if (error instanceof RotorError)
    return { code: error.code, message: error.message, retryable: error.retryable };
  const message = error instanceof Error ? error.message : String(error);
  return { code: 'internal', message, retryable: isRetryableError(error) };
}

/**
 * Network faults and 5xx/429/409 are worth a redelivery; a 4xx from a server (forbidden,
 * not found) or a permanent rotor error is not.
 */
export function isRetryableError(error: unknown): boolean {
  if (error instanceof RotorError) return error.retryable;
  const e = error as { code?: unknown; statusCode?: unknown };
  const code = typeof e.code === 'number' ? e.code : e.statusCode;
  if (typeof code === 'number') return code >= 500 || code === 429 || code === 409;
  return true;
}

/**
 * What lies under an error, for logs: each link of the `cause` chain as its class, HTTP
 * status and error code (`RestError 404 TableNotFound`, `RestError ECONNREFUSED`). Only
 * those facts, never a message: a library's message may quote a request or a payload.
 */
export function causeOf(error: unknown): string | undefined {
  const links: string[] = [];
  let current = (error as { cause?: unknown } | null)?.cause;
  for (let depth = 0; current !== undefined && current !== null && depth < 5; depth++) {
    links.push(describeLink(current));
    current = (current as { cause?: unknown }).cause;
  }
  return links.length > 0 ? links.join(' <- ') : undefined;
}

/** The message and, when there is one, its cause: what a log line says about a refused request. */
export function explainError(error: unknown): string {
  const cause = causeOf(error);
  return cause ? `${describeError(error).message} (cause: ${cause})` : describeError(error).message;
}

function describeLink(link: unknown): string {
  if (typeof link !== 'object') return typeof link;
  const e = link as {
    name?: unknown;
    statusCode?: unknown;
    status?: unknown;
    code?: unknown;
    details?: unknown;
  };
  const serviceCode = (e.details as { errorCode?: unknown } | undefined)?.errorCode;
  const status = typeof e.statusCode === 'number' ? e.statusCode : e.status;
  return [
    typeof e.name === 'string' ? e.name : 'Error',
    typeof status === 'number' ? String(status) : undefined,
    ...[e.code, serviceCode].filter(
      (c): c is string | number => typeof c === 'string' || typeof c === 'number',
    ),
  ]
    .filter((part, i, all) => part !== undefined && all.indexOf(part) === i)
    .join(' ');
}
