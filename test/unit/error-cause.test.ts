import { describe, expect, it } from 'vitest';
import { causeOf, explainError, RotorError } from '../../lib/errors.js';

/** Shaped like @azure/core-rest-pipeline's RestError as @azure/data-tables throws it. */
function restError(statusCode: number | undefined, code: string | undefined, errorCode?: string) {
  return Object.assign(new Error('The table specified does not exist. RequestId: …'), {
    name: 'RestError',
    ...(statusCode === undefined ? {} : { statusCode }),
    ...(code === undefined ? {} : { code }),
    ...(errorCode === undefined ? {} : { details: { errorCode } }),
  });
}

describe('causeOf: what lies under a refused request, for the log', () => {
  it("names the store's status and service code under a RotorError", () => {
    const error = new RotorError('state_unavailable', 'idempotency store: create failed', true, {
      cause: restError(404, undefined, 'TableNotFound'),
    });
    expect(causeOf(error)).toBe('RestError 404 TableNotFound');
    expect(explainError(error)).toBe('idempotency store: create failed (cause: RestError 404 TableNotFound)');
  });

  it('names a network failure by its code, through every link of the chain', () => {
    const inner = restError(undefined, 'ECONNREFUSED');
    const middle = new RotorError('state_unavailable', 'cannot reach table', true, { cause: inner });
    const outer = new RotorError('state_unavailable', 'idempotency store: read failed', true, {
      cause: middle,
    });
    expect(causeOf(outer)).toBe('RotorError state_unavailable <- RestError ECONNREFUSED');
  });

  it('never repeats a message of the cause, which may quote a request', () => {
    const error = new RotorError('transient', 'refused', true, {
      cause: Object.assign(new Error('password=hunter2 in the body'), { statusCode: 500 }),
    });
    expect(explainError(error)).toBe('refused (cause: Error 500)');
  });

  it('is undefined without a cause', () => {
    expect(causeOf(new Error('x'))).toBeUndefined();
    expect(explainError(new Error('x'))).toBe('x');
  });
});
