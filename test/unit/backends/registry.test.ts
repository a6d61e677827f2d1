import { describe, expect, it } from 'vitest';
import { createBackends } from '../../../lib/backends/registry.js';
import { parseConfig } from '../../../lib/config.js';
import { NotFoundError } from '../../../lib/errors.js';

const config = parseConfig({
  keyVaults: [{ name: 'Prod-KV' }, { name: 'other', rotate: 'false' }],
  vaults: [
    {
      name: 'bao',
      address: 'https://Bao.Example:443/',
      aliases: ['http://bao.vault.svc:8200'],
      namespace: 'team-a',
      mounts: [{ path: 'secret' }],
      auth: { method: 'token', token: 't' },
    },
  ],
});

describe('createBackends', () => {
  it('builds one backend per configured store without contacting anything', () => {
    const registry = createBackends(config);

    expect(registry.all().map((b) => `${b.kind}:${b.name}:${b.rotate}`)).toEqual([
      'azure-keyvault:prod-kv:true',
      'azure-keyvault:other:false',
      'vault:bao:true',
    ]);
  });

  it('finds the Key Vault by its lower-case name', () => {
    const backend = createBackends(config).get({ backend: 'azure-keyvault', vault: 'prod-kv', name: 'db' });

    expect(backend.name).toBe('prod-kv');
  });

  it('finds the Vault by its address or an alias, in its namespace or a child namespace', () => {
    const registry = createBackends(config);
    const ref = (address: string, namespace: string) =>
      ({ backend: 'vault', address, namespace, mount: 'secret', path: 'app' }) as const;

    expect(registry.find(ref('https://bao.example', 'team-a'))?.name).toBe('bao');
    expect(registry.find(ref('http://bao.vault.svc:8200', 'team-a/child'))?.name).toBe('bao');
    expect(registry.find(ref('https://bao.example', 'team-b'))).toBeUndefined();
    expect(registry.find(ref('https://elsewhere.example', 'team-a'))).toBeUndefined();
  });

  it('names the missing configuration when no store owns a ref', () => {
    const lookup = () =>
      createBackends(config).get({ backend: 'azure-keyvault', vault: 'unknown', name: 'db' });

    expect(lookup).toThrow(NotFoundError);
    expect(lookup).toThrow(/azure-keyvault:unknown\/db.*add it to the rotor configuration/);
  });
});
