import { describe, expect, it } from 'vitest';
import { matcherFor } from '../../../../lib/backends/identities.js';
import { esoVaultProvider, vaultReadPath } from '../../../../lib/backends/vault/eso-paths.js';
import {
  type ExternalSecretSpec,
  providerOf,
  type StoreLookup,
  specForceability,
  specSelects,
  targetName,
} from '../../../../lib/kube/operators/eso-match.js';
import { KeyVaultRefSchema, VaultRefSchema } from '../../../../lib/secret-ref.js';
import { fixture } from './fixture.js';

const kvRef = KeyVaultRefSchema.parse({ backend: 'azure-keyvault', vault: 'my-vault', name: 'db-password' });
const vaultRef = VaultRefSchema.parse({
  backend: 'vault',
  address: 'http://vault.vault.svc:8200',
  mount: 'secret',
  path: 'apps/config',
});
const kvMatch = matcherFor(kvRef, {});
const vaultMatch = matcherFor(vaultRef, {});

const azureStore = providerOf(fixture('secretstore-azurekv.yaml'));
const vaultStore = providerOf(fixture('clustersecretstore-vault.yaml'));
const lookup: StoreLookup = (key) =>
  key.kind === 'SecretStore' && key.name === 'azure-store'
    ? azureStore
    : key.kind === 'ClusterSecretStore' && key.name === 'vault-cluster-store'
      ? vaultStore
      : undefined;

function spec(file: string): ExternalSecretSpec {
  return structuredClone(fixture(file).spec) as ExternalSecretSpec;
}

describe('ESO provider and path rules', () => {
  it('reads the provider of SecretStore and ClusterSecretStore manifests', () => {
    expect(azureStore.type).toBe('azurekv');
    expect(azureStore.block.vaultUrl).toBe('https://my-vault.vault.azure.net');
    expect(vaultStore.type).toBe('vault');
    expect(esoVaultProvider(vaultStore.block)).toEqual({
      server: 'http://vault.vault.svc:8200',
      path: 'secret',
      version: 'v2',
      namespace: '',
    });
  });

  it.each([
    [{ path: 'secret', version: 'v2' as const }, 'apps/config', 'secret/data/apps/config'],
    [{ path: 'secret', version: 'v2' as const }, 'secret/apps/config', 'secret/data/apps/config'],
    [{ path: 'secret', version: 'v2' as const }, 'secret/data/apps/config', 'secret/data/apps/config'],
    [{ path: 'kv', version: 'v1' as const }, 'apps/config', 'kv/apps/config'],
    [{ version: 'v2' as const }, 'secret/apps/config', 'secret/data/apps/config'],
    [{ version: 'v2' as const }, 'secret/data/apps/config', 'secret/data/apps/config'],
    [{ version: 'v1' as const }, 'kv/apps/config', 'kv/apps/config'],
  ])('store %j reads key %s at %s (ESO buildPath)', (provider, key, path) => {
    expect(vaultReadPath(provider, key)).toBe(path);
  });
});

describe('specSelects: does an ExternalSecret read the changed secret?', () => {
  it('selects data[].remoteRef with the optional secret/ prefix in the same Key Vault', () => {
    expect(specSelects(spec('externalsecret-data.yaml'), lookup, kvMatch)).toEqual({
      selected: true,
      warnings: [],
    });
  });

  it('ignores the same name in another Key Vault (identity is vault + name)', () => {
    const other = KeyVaultRefSchema.parse({
      backend: 'azure-keyvault',
      vault: 'other-vault',
      name: 'db-password',
    });
    expect(specSelects(spec('externalsecret-data.yaml'), lookup, matcherFor(other, {})).selected).toBe(false);
  });

  it('ignores key/ and cert/ objects of the same name', () => {
    const s = spec('externalsecret-data.yaml');
    (s.data ?? [])[0]!.remoteRef.key = 'key/db-password';
    expect(specSelects(s, lookup, kvMatch).selected).toBe(false);
  });

  it('selects dataFrom.extract through a ClusterSecretStore on the same server and mount', () => {
    expect(specSelects(spec('externalsecret-extract.yaml'), lookup, vaultMatch).selected).toBe(true);
  });

  it('does not select a path under another mount or another server', () => {
    const otherMount = VaultRefSchema.parse({ ...vaultRef, mount: 'kv' });
    expect(
      specSelects(spec('externalsecret-extract.yaml'), lookup, matcherFor(otherMount, {})).selected,
    ).toBe(false);
    const otherServer = VaultRefSchema.parse({ ...vaultRef, address: 'https://vault.example.com' });
    expect(
      specSelects(spec('externalsecret-extract.yaml'), lookup, matcherFor(otherServer, {})).selected,
    ).toBe(false);
  });

  it('selects dataFrom.find by path prefix and name regexp', () => {
    const store = providerOf(fixture('secretstore-vault.yaml'));
    const find = spec('externalsecret-find.yaml');
    const look: StoreLookup = () => store;
    const hit = VaultRefSchema.parse({ ...vaultRef, path: 'teams/payments/db-main' });
    const miss = VaultRefSchema.parse({ ...vaultRef, path: 'teams/payments/api-key' });
    const outside = VaultRefSchema.parse({ ...vaultRef, path: 'teams/search/db-main' });
    expect(specSelects(find, look, matcherFor(hit, {})).selected).toBe(true);
    expect(specSelects(find, look, matcherFor(miss, {})).selected).toBe(false);
    expect(specSelects(find, look, matcherFor(outside, {})).selected).toBe(false);
  });

  it('treats a find by tags as a consumer, with a warning that rotor cannot verify tags', () => {
    const s: ExternalSecretSpec = {
      secretStoreRef: { name: 'azure-store' },
      dataFrom: [{ find: { tags: { team: 'payments' } } }],
    };
    const r = specSelects(s, lookup, kvMatch);
    expect(r.selected).toBe(true);
    expect(r.warnings.join()).toMatch(/tags/);
  });

  it('uses a per-entry sourceRef.storeRef instead of the default store', () => {
    const s: ExternalSecretSpec = {
      secretStoreRef: { kind: 'ClusterSecretStore', name: 'vault-cluster-store' },
      data: [
        {
          secretKey: 'pw',
          remoteRef: { key: 'db-password' },
          sourceRef: { storeRef: { kind: 'SecretStore', name: 'azure-store' } },
        },
      ],
    };
    expect(specSelects(s, lookup, kvMatch).selected).toBe(true);
  });

  it('warns when the entry pins a version (the refresh keeps it)', () => {
    const s = spec('externalsecret-data.yaml');
    (s.data ?? [])[0]!.remoteRef.version = '0123abcd';
    expect(specSelects(s, lookup, kvMatch).warnings.join()).toMatch(/pinned to version 0123abcd/);
  });

  it('skips entries whose store is unknown or that come from a generator', () => {
    const s: ExternalSecretSpec = {
      secretStoreRef: { name: 'missing' },
      data: [
        { secretKey: 'a', remoteRef: { key: 'db-password' } },
        {
          secretKey: 'b',
          remoteRef: { key: 'db-password' },
          sourceRef: { generatorRef: { kind: 'Password', name: 'x' } },
        },
      ],
    };
    expect(specSelects(s, lookup, kvMatch).selected).toBe(false);
  });
});

describe('specForceability: will ESO act on a forced sync?', () => {
  it('reports refreshInterval 0 with the default policy as not forceable, with the fix', () => {
    const r = specForceability(spec('externalsecret-refresh-zero.yaml'));
    expect(r.forceable).toBe(false);
    expect(r.fix).toMatch(/non-zero duration|OnChange/);
  });

  it.each([
    [{ refreshInterval: '0s', refreshPolicy: 'Periodic' as const }, false],
    [{ refreshInterval: '1h', refreshPolicy: 'CreatedOnce' as const }, false],
    [{ refreshInterval: '0', refreshPolicy: 'OnChange' as const }, true],
    [{ refreshInterval: '1h' }, true],
    [{}, true],
    [{ refreshInterval: '1h', target: { immutable: true } }, false],
  ])('%j → forceable %s', (s, forceable) => {
    expect(specForceability(s).forceable).toBe(forceable);
  });

  it('warns about an unparseable interval and about sync windows', () => {
    expect(specForceability({ refreshInterval: 'daily', syncWindows: {} }).warnings).toEqual([
      'refreshInterval "daily" is not a Go duration',
      'syncWindows set: a forced sync outside a window waits for the next window',
    ]);
  });

  it('names the target Secret after the ExternalSecret unless target.name is set', () => {
    expect(targetName({}, 'app')).toBe('app');
    expect(targetName(spec('externalsecret-data.yaml'), 'app-db')).toBe('app-db-credentials');
  });
});
