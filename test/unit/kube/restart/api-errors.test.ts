import { ApiException } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { ForbiddenError, NotFoundError, TransientError } from '../../../../lib/errors.js';
import { apiError, isConflict } from '../../../../lib/kube/restart/api-errors.js';

const exception = (code: number, message: string) =>
  new ApiException(code, 'Unknown API Status Code!', JSON.stringify({ kind: 'Status', message }), {
    'x-big': 'header',
  });

describe('apiError', () => {
  it('turns 403 into a ForbiddenError that quotes the API server and says where to grant the verb', () => {
    const e = apiError(
      exception(403, 'secrets "db" is forbidden: User "rotor" cannot get resource "secrets"'),
      'read Secret ns/db',
    );
    expect(e).toBeInstanceOf(ForbiddenError);
    expect(e.message).toBe(
      'read Secret ns/db: secrets "db" is forbidden: User "rotor" cannot get resource "secrets"; grant the rotor identity this verb in infra/k8s/rbac.yaml',
    );
    expect(e.retryable).toBe(false);
  });

  it('keeps headers and bodies out of the message, and classifies 404, 422 and 503', () => {
    expect(apiError(exception(404, 'not there'), 'x')).toBeInstanceOf(NotFoundError);
    const invalid = apiError(exception(422, 'spec.template: Invalid value'), 'patch');
    expect(invalid.retryable).toBe(false);
    expect(invalid.message).toBe('patch: HTTP 422 spec.template: Invalid value');
    expect(apiError(exception(503, 'etcd'), 'patch')).toBeInstanceOf(TransientError);
    expect(apiError(new Error('socket hang up'), 'patch').message).toBe('patch: socket hang up');
  });

  it('recognises a 409 as a conflict', () => {
    expect(isConflict(exception(409, 'the object has been modified'))).toBe(true);
    expect(isConflict(exception(422, 'x'))).toBe(false);
  });
});
