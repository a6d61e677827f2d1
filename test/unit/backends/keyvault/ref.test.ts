import { describe, expect, it } from 'vitest';
import { matcherFor } from '../../../../lib/backends/identities.js';
import { KeyVaultRefSchema } from '../../../../lib/backends/keyvault/ref.js';
import { KeyVaultConfigSchema } from '../../../../lib/config.js';
import { safeDecodeKeyVaultEvent } from '../../../../lib/events/keyvault-event.js';

const keyVaults = [KeyVaultConfigSchema.parse({ name: 'contoso' })];
const ref = KeyVaultRefSchema.parse({ backend: 'azure-keyvault', vault: 'contoso', name: 'db' });

/** The vault an event names only through its object id (no topic, no VaultName). */
function vaultOfEvent(objectId: string): string | undefined {
  const decoded = safeDecodeKeyVaultEvent(
    {
      id: 'e1',
      type: 'Microsoft.KeyVault.SecretNewVersionCreated',
      data: { Id: objectId, ObjectName: 'db' },
    },
    { keyVaults, receivedAt: new Date('2026-01-01T00:00:00Z') },
  );
  return decoded.success &&
    decoded.data.type === 'change' &&
    decoded.data.event.ref.backend === 'azure-keyvault'
    ? decoded.data.event.ref.vault
    : undefined;
}

describe('one Key Vault URL canon', () => {
  it.each([
    'https://contoso.vault.azure.net',
    'https://contoso.vault.azure.cn',
    'https://contoso.vault.usgovcloudapi.net',
    'https://contoso.vault.microsoftazure.de',
    'https://contoso.privatelink.vaultcore.azure.net',
    'https://contoso.vaultcore.azure.net',
    'https://CONTOSO.vault.azure.net:443/',
  ])('recognises %s in an event as the same vault as in an ESO provider block', (url) => {
    const inEso = matcherFor(ref, { keyVaultConfigs: keyVaults }).eso.holds({ vaultUrl: url });
    const inEvent = vaultOfEvent(`${url.replace(/\/$/, '')}/secrets/db/0123abcd`);

    expect(inEso).toBe(true);
    expect(inEvent).toBe('contoso');
  });

  it.each([
    'https://contoso.example.com',
    'http://contoso.vault.azure.net',
    'https://contoso.vault.azure.net.evil.example',
    'https://other.vault.azure.net',
  ])('recognises %s neither in an event nor in an ESO provider block', (url) => {
    expect(matcherFor(ref, { keyVaultConfigs: keyVaults }).eso.holds({ vaultUrl: url })).toBe(false);
    expect(vaultOfEvent(`${url}/secrets/db/0123abcd`)).not.toBe('contoso');
  });

  it('holds a vault configured with a URL (an emulator, a custom endpoint) to that URL', () => {
    const emulated = [KeyVaultConfigSchema.parse({ name: 'contoso', url: 'https://127.0.0.1:8443' })];
    const m = matcherFor(ref, { keyVaultConfigs: emulated });
    expect(m.address('https://127.0.0.1:8443/')).toBe(true);
    expect(m.address('https://contoso.privatelink.vaultcore.azure.net')).toBe(false);
  });
});
