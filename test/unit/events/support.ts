import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type Config, parseConfig } from '../../../lib/config.js';

const FIXTURES = fileURLToPath(new URL('../../fixtures/', import.meta.url));

export function fixtureText(path: string): string {
  return readFileSync(`${FIXTURES}${path}`, 'utf8');
}

export function fixtureJson<T = unknown>(path: string): T {
  return JSON.parse(fixtureText(path)) as T;
}

export const BAO_ADDRESS = 'http://127.0.0.1:8200';

/** One Key Vault (the docs samples' `sample-kv`) and one OpenBao server with KV v2, KV v1 and a namespaced mount. */
export function testConfig(overrides: Record<string, unknown> = {}): Config {
  return parseConfig({
    keyVaults: [{ name: 'sample-kv' }, { name: 'lowkey', url: 'https://127.0.0.1:8443' }],
    vaults: [
      {
        name: 'bao',
        address: BAO_ADDRESS,
        mounts: [
          { path: 'secret', version: '2' },
          { path: 'kv1', version: '1' },
        ],
      },
      {
        name: 'bao-team-a',
        address: BAO_ADDRESS,
        namespace: 'team-a',
        mounts: [{ path: 'kv', version: '2' }],
      },
    ],
    webhook: { bearerToken: 'test-bearer-token-0123456789', hmacSecret: 'test-hmac-secret-0123456789' },
    ...overrides,
  });
}
