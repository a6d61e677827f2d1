import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { toRotorError } from '../../../../lib/backends/vault/errors.js';
import { ConflictError, ForbiddenError, NotFoundError, TransientError } from '../../../../lib/errors.js';

/** Responses recorded from OpenBao 2.x, in the shape node-vault's ApiResponseError carries them. */
function recorded(name: string): unknown {
  const { status, body } = JSON.parse(
    readFileSync(new URL(`../../../fixtures/backends/vault/${name}`, import.meta.url), 'utf8'),
  );
  return Object.assign(new Error(body.errors[0] ?? `Status ${status}`), {
    response: { statusCode: status, body },
  });
}

describe('Vault error mapping', () => {
  it('maps the 400 check-and-set mismatch to ConflictError (retryable)', () => {
    const error = toRotorError(recorded('cas-mismatch.json'), 'secret secret/app');

    expect(error).toBeInstanceOf(ConflictError);
    expect(error.retryable).toBe(true);
  });

  it('maps 403 permission denied to ForbiddenError with an actionable message', () => {
    const error = toRotorError(recorded('permission-denied.json'), 'secret secret/app');

    expect(error).toBeInstanceOf(ForbiddenError);
    expect(error.message).toContain('permission denied');
    expect(error.message).toContain('grant');
  });

  it('maps 404 to the shared NotFoundError', () => {
    expect(toRotorError(recorded('not-found.json'), 'secret secret/app')).toBeInstanceOf(NotFoundError);
  });

  it('maps a connection failure (no response) to TransientError', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8200'), { code: 'ECONNREFUSED' });

    const error = toRotorError(refused, 'Vault openbao');

    expect(error).toBeInstanceOf(TransientError);
    expect(error.message).toContain('ECONNREFUSED');
  });
});
