import { ApiException } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import {
  ConflictError,
  ForbiddenError,
  httpStatusOf,
  isRetryableError,
  NotFoundError,
  TimeoutError,
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

  it.each([429, 500, 503])('asks for a redelivery when the API server answers %i', (code) => {
    const e = kubeError(exception(code, 'try later'), 'list externalsecrets.external-secrets.io');
    expect(e).toBeInstanceOf(TransientError);
    expect(httpStatusOf(e)).toBe(503);
  });

  it('names a 504 (the API server timed the request out) a timeout, and asks for a redelivery', () => {
    const e = kubeError(
      exception(504, 'the server was unable to return a response in the time allotted'),
      'patch',
    );
    expect(e).toBeInstanceOf(TimeoutError);
    expect(e).toMatchObject({ code: 'timeout', retryable: true });
    expect(e.message).toBe('patch: HTTP 504 the server was unable to return a response in the time allotted');
    expect(httpStatusOf(e)).toBe(503);
  });

  it.each([
    ['a connection that timed out', { code: 'ETIMEDOUT' }],
    ['node-fetch giving up on the response', { type: 'request-timeout' }],
    ['undici giving up on the headers (in the cause)', { cause: { code: 'UND_ERR_HEADERS_TIMEOUT' } }],
  ])('names %s a timeout, and asks for a redelivery', (_what, fields) => {
    const e = kubeError(Object.assign(new Error('request failed'), fields), 'patch');
    expect(e).toMatchObject({ code: 'timeout', retryable: true, message: 'patch: request failed' });
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
