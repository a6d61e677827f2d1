import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../lib/errors.js';
import { parseManualRequest } from '../../../lib/events/manual-request.js';
import { BAO_ADDRESS, testConfig } from './support.js';

const config = testConfig();

describe('manual rotate/refresh body', () => {
  it('names a Key Vault secret', () => {
    expect(parseManualRequest('{"keyVault":"Sample-KV","name":"db-password"}', config)).toEqual({
      ref: { backend: 'azure-keyvault', vault: 'sample-kv', name: 'db-password' },
    });
  });

  it('names a Vault secret by server name, mount and path, with request options', () => {
    const request = parseManualRequest(
      '{"vault":"bao","mount":"secret","path":"app/db","dryRun":true,"requestId":"r-1"}',
      config,
    );

    expect(request).toEqual({
      ref: { backend: 'vault', address: BAO_ADDRESS, namespace: '', mount: 'secret', path: 'app/db' },
      dryRun: true,
      requestId: 'r-1',
    });
  });

  it.each([
    ['malformed JSON', '{"keyVault":'],
    ['an array', '[]'],
    ['neither form', '{"name":"x"}'],
    ['an unknown field', '{"keyVault":"sample-kv","name":"x","extra":1}'],
    ['a non-boolean dryRun', '{"keyVault":"sample-kv","name":"x","dryRun":"yes"}'],
    ['a path with ..', '{"vault":"bao","mount":"secret","path":"../../sys/policy/x"}'],
    ['a mount with an empty segment', '{"vault":"bao","mount":"sec//ret","path":"x"}'],
    ['an unconfigured Key Vault', '{"keyVault":"elsewhere","name":"x"}'],
    ['an unconfigured Vault server', '{"vault":"elsewhere","mount":"secret","path":"x"}'],
  ])('refuses %s with a ValidationError', (_name, body) => {
    expect(() => parseManualRequest(body, config)).toThrow(ValidationError);
  });
});
