import { describe, expect, it } from 'vitest';
import { matcherFor } from '../../../lib/backends/identities.js';
import { vaultSpellings } from '../../../lib/backends/vault/ref.js';
import { KeyVaultConfigSchema, VaultConfigSchema } from '../../../lib/config.js';
import { KeyVaultRefSchema, VaultRefSchema } from '../../../lib/secret-ref.js';

const vaultRef = VaultRefSchema.parse({
  backend: 'vault',
  address: 'https://vault.example.com:8200',
  mount: 'secret',
  path: 'apps/web',
});
const kvRef = KeyVaultRefSchema.parse({ backend: 'azure-keyvault', vault: 'My-Vault', name: 'db-password' });

describe('address matching', () => {
  it('treats scheme/host case, default ports and trailing slashes as the same server', () => {
    const m = matcherFor(vaultRef, {});
    expect(m.address('HTTPS://Vault.Example.com:8200/')).toBe(true);
    expect(m.address('https://vault.example.com:8201')).toBe(false);
    expect(m.address('http://vault.example.com:8200')).toBe(false);
  });

  it('accepts in-cluster spellings listed in the alias map, in either direction', () => {
    const m = matcherFor(vaultRef, {
      aliases: { 'https://vault.example.com:8200': ['http://vault.vault.svc:8200'] },
    });
    expect(m.address('http://vault.vault.svc:8200/')).toBe(true);
    const reversed = matcherFor(vaultRef, {
      aliases: { 'http://vault.vault.svc:8200': ['https://vault.example.com:8200'] },
    });
    expect(reversed.address('http://vault.vault.svc:8200')).toBe(true);
  });

  it('accepts the aliases configured on the matching vault (VaultConfig.aliases)', () => {
    const config = VaultConfigSchema.parse({
      name: 'main',
      address: 'https://vault.example.com:8200/',
      mounts: [{ path: 'secret' }],
      aliases: ['http://openbao.openbao.svc.cluster.local:8200'],
    });
    expect(vaultSpellings('https://vault.example.com:8200', [config])).toContain(
      'http://openbao.openbao.svc.cluster.local:8200',
    );
    expect(
      matcherFor(vaultRef, { vaultConfigs: [config] }).address(
        'http://openbao.openbao.svc.cluster.local:8200',
      ),
    ).toBe(true);
  });

  it('matches a Key Vault by its default URL, by name in Azure hosts, and by a configured emulator URL', () => {
    const plain = matcherFor(kvRef, {});
    expect(plain.address('https://my-vault.vault.azure.net/')).toBe(true);
    expect(plain.address('https://my-vault.vault.azure.cn')).toBe(true);
    expect(plain.address('https://other.vault.azure.net')).toBe(false);
    expect(plain.csi.selects({ keyvaultName: 'MY-VAULT' }, [{ objectName: 'db-password' }]).selected).toBe(
      true,
    );

    const emulated = matcherFor(kvRef, {
      keyVaultConfigs: [KeyVaultConfigSchema.parse({ name: 'my-vault', url: 'https://127.0.0.1:8443' })],
    });
    expect(emulated.address('https://127.0.0.1:8443/')).toBe(true);
    expect(emulated.address('https://127.0.0.1:9443')).toBe(false);
  });
});
