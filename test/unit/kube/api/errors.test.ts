import { ApiException } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import {
  ConflictError,
  ForbiddenError,
  httpStatusOf,
  isRetryableError,
  NotFoundError,
  TransientError,
} from '../../../../lib/errors.js';
import { isConflict, kubeError } from '../../../../lib/kube/api/errors.js';

const exception = (code: number, message: string) =>
  new ApiException(code, 'Unknown API Status Code!', JSON.stringify({ kind: 'Status', message }), {
    'x-big': 'header',
  });

describe('kubeError', () => {
  it('turns 403 into a ForbiddenError that quotes the API server and says where to grant the verb', () => {
    const e = kubeError(
      exception(403, 'secrets "db" is forbidden: User "rotor" cannot get resource "secrets"'),
      'read Secret ns/db',
    );
    expect(e).toBeInstanceOf(ForbiddenError);
    expect(e.message).toBe(
      'forbidden: read Secret ns/db: secrets "db" is forbidden: User "rotor" cannot get resource "secrets"; grant the rotor identity this verb in infra/k8s/rbac.yaml',
    );
    expect(e.retryable).toBe(false);
  });

  it('keeps headers and bodies out of the message, and classifies 404, 422 and 503', () => {
    expect(kubeError(exception(404, 'not there'), 'x')).toBeInstanceOf(NotFoundError);
    const invalid = kubeError(exception(422, 'spec.template: Invalid value'), 'patch');
    expect(invalid.retryable).toBe(false);
    expect(invalid.message).toBe('patch: HTTP 422 spec.template: Invalid value');
    expect(kubeError(exception(503, 'etcd'), 'patch')).toBeInstanceOf(TransientError);
    expect(kubeError(new Error('socket hang up'), 'patch').message).toBe('patch: socket hang up');
  });

  it('recognises a 409 as a conflict', () => {
    expect(isConflict(exception(409, 'the object has been modified'))).toBe(true);
    expect(isConflict(exception(422, 'x'))).toBe(false);
  });

  it.each([
    [400, 'Bad Request'],
    [403, 'Forbidden'],
    [404, 'Not Found'],
    [422, 'Invalid'],
  ])('never asks for a redelivery of a request the API server refused with %i', (code, said) => {
    const e = kubeError(exception(code, said), 'patch externalsecrets.external-secrets.io ns/db');
    expect(e.retryable).toBe(false);
    expect(isRetryableError(e)).toBe(false);
    expect(httpStatusOf(e)).not.toBe(503);
  });

  it.each([429, 500, 503, 504])('asks for a redelivery when the API server answers %i', (code) => {
    const e = kubeError(exception(code, 'try later'), 'list externalsecrets.external-secrets.io');
    expect(e).toBeInstanceOf(TransientError);
    expect(httpStatusOf(e)).toBe(503);
  });

  it('asks for a redelivery on a network fault', () => {
    const fault = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6443'), { code: 'ECONNREFUSED' });
    expect(kubeError(fault, 'list')).toBeInstanceOf(TransientError);
  });

  it('makes a 409 a ConflictError, which the writer resolves by reading again', () => {
    const e = kubeError(exception(409, 'the object has been modified'), 'patch');
    expect(e).toBeInstanceOf(ConflictError);
    expect(isConflict(e)).toBe(true);
  });
});
