import { describe, expect, it } from 'vitest';
import { closest, findUnknownKeys } from '../../../lib/config/unknown-keys.js';
import { ConfigSchema } from '../../../lib/config.js';

describe('unknown configuration keys', () => {
  it('are found at every level, each with the closest valid key', () => {
    const found = findUnknownKeys(ConfigSchema, {
      clustrs: [],
      restart: { stratgy: 'env-vars' },
      keyVaults: [{ name: 'kv', rotat: true }],
      vaults: [{ name: 'v', address: 'http://v:8200', mounts: [{ path: 'secret', verison: '2' }] }],
    });

    expect(found).toEqual([
      { path: ['clustrs'], suggestion: 'clusters' },
      { path: ['restart', 'stratgy'], suggestion: 'strategy' },
      { path: ['keyVaults', 0, 'rotat'], suggestion: 'rotate' },
      { path: ['vaults', 0, 'mounts', 0, 'verison'], suggestion: 'version' },
    ]);
  });

  it('look inside the variant a discriminated union picks', () => {
    const found = findUnknownKeys(ConfigSchema, {
      vaults: [
        {
          name: 'v',
          address: 'http://v:8200',
          mounts: [{ path: 'secret' }],
          auth: { method: 'approle', roleId: 'r', secretID: 's' },
        },
      ],
    });

    expect(found).toEqual([{ path: ['vaults', 0, 'auth', 'secretID'], suggestion: 'secretId' }]);
  });

  it('a correct document has none, and a key far from every valid one gets no suggestion', () => {
    expect(findUnknownKeys(ConfigSchema, { clusters: [{ name: 'a', kubeconfig: '/k' }], port: 1 })).toEqual(
      [],
    );
    expect(findUnknownKeys(ConfigSchema, { flux: 1 })).toEqual([{ path: ['flux'] }]);
    expect(closest('stratgy', ['strategy', 'dryRun'])).toBe('strategy');
  });
});
