import { describe, expect, it } from 'vitest';
import { VaultConfigSchema } from '../../../../lib/config.js';
import { addressSpellings, keyVaultMatcher, vaultMatcher } from '../../../../lib/kube/operators/address.js';
import { KeyVaultRefSchema, VaultRefSchema } from '../../../../lib/secret-ref.js';

const vaultRef = VaultRefSchema.parse({
  backend: 'vault',
  address: 'https://vault.example.com:8200',
  mount: 'secret',
  path: 'apps/web',
});
const kvRef = KeyVaultRefSchema.parse({ backend: 'azure-keyvault', vault: 'My-Vault', name: 'db-password' });

describe('address matching', () => {
  it('treats scheme/host case, default ports and trailing slashes as the same server', () => {
    const m = vaultMatcher(vaultRef, {});
    expect(m.vaultServer('HTTPS://Vault.Example.com:8200/')).toBe(true);
    expect(m.vaultServer('https://vault.example.com:8201')).toBe(false);
    expect(m.vaultServer('http://vault.example.com:8200')).toBe(false);
  });

  it('accepts in-cluster spellings listed in the alias map, in either direction', () => {
    const m = vaultMatcher(vaultRef, {
      aliases: { 'https://vault.example.com:8200': ['http://vault.vault.svc:8200'] },
    });
    expect(m.vaultServer('http://vault.vault.svc:8200/')).toBe(true);
    const reversed = vaultMatcher(vaultRef, {
      aliases: { 'http://vault.vault.svc:8200': ['https://vault.example.com:8200'] },
    });
    expect(reversed.vaultServer('http://vault.vault.svc:8200')).toBe(true);
  });

  it('accepts the aliases configured on the matching vault (VaultConfig.aliases)', () => {
    const config = VaultConfigSchema.parse({
      name: 'main',
      address: 'https://vault.example.com:8200/',
      mounts: [{ path: 'secret' }],
      aliases: ['http://openbao.openbao.svc.cluster.local:8200'],
    });
    expect(addressSpellings('https://vault.example.com:8200', { vaultConfigs: [config] })).toContain(
      'http://openbao.openbao.svc.cluster.local:8200',
    );
    expect(
      vaultMatcher(vaultRef, { vaultConfigs: [config] }).vaultServer(
        'http://openbao.openbao.svc.cluster.local:8200',
      ),
    ).toBe(true);
  });

  it('matches a Key Vault by its default URL, by name in Azure hosts, and by a configured emulator URL', () => {
    const plain = keyVaultMatcher(kvRef, {});
    expect(plain.keyVaultUrl('https://my-vault.vault.azure.net/')).toBe(true);
    expect(plain.keyVaultUrl('https://my-vault.vault.azure.cn')).toBe(true);
    expect(plain.keyVaultUrl('https://other.vault.azure.net')).toBe(false);
    expect(plain.keyVaultName('MY-VAULT')).toBe(true);

    const emulated = keyVaultMatcher(kvRef, {
      keyVaultConfigs: [
        {
          name: 'my-vault',
          url: 'https://127.0.0.1:8443',
          rotate: true,
          auth: { kind: 'emulator' },
          tls: {},
        },
      ],
    });
    expect(emulated.keyVaultUrl('https://127.0.0.1:8443/')).toBe(true);
    expect(emulated.keyVaultUrl('https://127.0.0.1:9443')).toBe(false);
  });
});
