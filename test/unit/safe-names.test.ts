import { describe, expect, it } from 'vitest';
import type { Backend } from '../../lib/backends/backend.js';
import { BackendRegistry } from '../../lib/backends/registry.js';
import { ValidationError } from '../../lib/errors.js';
import { parseManualRequest } from '../../lib/events/manual-request.js';
import { safeDecodeVaultAudit } from '../../lib/events/vault-audit.js';
import { resolveRefInput } from '../../lib/ref-input.js';
import { keyVaultNameProblem, vaultPathProblem } from '../../lib/safe-names.js';
import { BAO_ADDRESS, fixtureText, testConfig } from './events/support.js';

/** Issue #12.5: one validation of Vault paths and Key Vault names, at every entry point. */
const config = testConfig();

const UNSAFE_PATHS = [
  '../../sys/mounts',
  'app/../../sys/mounts',
  './app',
  'app/.',
  'app//db',
  '%2e%2e/%2e%2e/sys/mounts',
  '%2E%2e/sys',
  'app%2fdb',
  'app/db\u0000',
  'app/\u001bdb',
  'app/db\u0085',
  'app/db?list=true',
  'app/db#x',
  'app\\..\\sys',
];

describe('vaultPathProblem', () => {
  it.each(UNSAFE_PATHS)('refuses %j', (path) => {
    expect(vaultPathProblem(path)).toBeDefined();
  });

  it.each(['app/db', '/app/db/', 'team-a/app.db', 'a..b/c', 'x.y'])('accepts %j', (path) => {
    expect(vaultPathProblem(path)).toBeUndefined();
  });
});

describe('keyVaultNameProblem', () => {
  it.each(['..', 'db/password', 'db%2Fx', 'db password', '', 'a'.repeat(128)])('refuses %j', (name) => {
    expect(keyVaultNameProblem(name)).toBeDefined();
  });

  it('accepts letters, digits and dashes', () => {
    expect(keyVaultNameProblem('Db-Password-01')).toBeUndefined();
  });
});

describe('every entry point uses it', () => {
  it.each(UNSAFE_PATHS)('HTTP body (400): path %j', (path) => {
    expect(() => parseManualRequest(JSON.stringify({ vault: 'bao', mount: 'secret', path }), config)).toThrow(
      ValidationError,
    );
  });

  it.each(['../x', 'db%2e%2e', 'db/x'])('CLI / HTTP Key Vault name %j', (name) => {
    expect(() => resolveRefInput({ keyVault: 'sample-kv', name }, config)).toThrow(ValidationError);
  });

  it.each(['../secret', 'secret/../sys'])('a mount %j', (mount) => {
    expect(() => resolveRefInput({ vault: 'bao', mount, path: 'app/db' }, config)).toThrow(ValidationError);
  });

  it('an audit entry naming a traversing path is ignored, with the reason', () => {
    const entry = JSON.parse(fixtureText('vault-audit/openbao-kv2-write.json')) as {
      request: { path: string };
    };
    entry.request.path = 'secret/data/app/%2e%2e/%2e%2e/%2e%2e/sys/mounts';

    const result = safeDecodeVaultAudit(JSON.stringify(entry), {
      vaults: config.vaults,
      receivedAt: new Date(),
    });

    expect(result.success && result.data).toEqual([
      expect.objectContaining({
        type: 'ignored',
        event: expect.objectContaining({ reason: expect.stringMatching(/percent-encoded/) }),
      }),
    ]);
  });

  it('the backend registry refuses an unsafe reference before any backend is called', () => {
    const calls: string[] = [];
    const backend = new Proxy({ kind: 'vault', name: 'bao', owns: () => true } as unknown as Backend, {
      get: (target, prop) => {
        calls.push(String(prop));
        return Reflect.get(target, prop);
      },
    });
    const registry = new BackendRegistry([backend]);

    expect(() =>
      registry.get({
        backend: 'vault',
        address: BAO_ADDRESS,
        namespace: '',
        mount: 'secret',
        path: 'a/../../sys',
      }),
    ).toThrow(ValidationError);
    expect(calls).toEqual([]);
  });
});
