import { describe, expect, it } from 'vitest';
import { matcherFor } from '../../../../lib/backends/identities.js';
import { parseCsiObjects, podSpecMounts, spcSelects } from '../../../../lib/kube/operators/csi-objects.js';
import { KeyVaultRefSchema, VaultRefSchema } from '../../../../lib/secret-ref.js';
import { fixture } from './fixture.js';

const azure = fixture('spc-azure.yaml').spec as { provider: string; parameters: Record<string, string> };
const vault = fixture('spc-vault.yaml').spec as { provider: string; parameters: Record<string, string> };
const kvRef = KeyVaultRefSchema.parse({ backend: 'azure-keyvault', vault: 'my-vault', name: 'db-password' });
const vaultRef = VaultRefSchema.parse({
  backend: 'vault',
  address: 'http://vault.vault.svc:8200',
  mount: 'secret',
  path: 'apps/web',
});

describe('SecretProviderClass objects', () => {
  it('parses the Azure provider shape: `array:` of YAML strings', () => {
    expect(parseCsiObjects(azure.parameters.objects)).toEqual([
      { objectName: 'db-password', objectType: 'secret', objectVersion: '' },
      { objectName: 'tls-cert', objectType: 'cert', objectAlias: 'tls.crt' },
    ]);
  });

  it('parses the Vault provider shape: a YAML list', () => {
    expect(parseCsiObjects(vault.parameters.objects)).toEqual([
      { objectName: 'db-password', secretPath: 'secret/data/apps/web', secretKey: 'password' },
    ]);
  });

  it('rejects objects that are neither shape', () => {
    expect(() => parseCsiObjects('objectName: x')).toThrow(/neither a YAML list nor/);
  });

  it('parses a text once: every event resolves against every class, the same texts again', () => {
    const first = parseCsiObjects(vault.parameters.objects);
    expect(parseCsiObjects(vault.parameters.objects)).toBe(first);
    expect(() => parseCsiObjects('objectName: x')).toThrow(/neither a YAML list nor/);
  });
});

describe('spcSelects', () => {
  it('selects an Azure class naming the vault and the secret object', () => {
    expect(spcSelects(azure.provider, azure.parameters, matcherFor(kvRef, {}))).toEqual({
      selected: true,
      warnings: [],
    });
  });

  it('does not select a cert object of that name, nor another vault', () => {
    const cert = KeyVaultRefSchema.parse({ ...kvRef, name: 'tls-cert' });
    expect(spcSelects(azure.provider, azure.parameters, matcherFor(cert, {})).selected).toBe(false);
    const other = KeyVaultRefSchema.parse({ ...kvRef, vault: 'other' });
    expect(spcSelects(azure.provider, azure.parameters, matcherFor(other, {})).selected).toBe(false);
  });

  it('selects a Vault class by address and KV v2 secretPath', () => {
    expect(spcSelects(vault.provider, vault.parameters, matcherFor(vaultRef, {})).selected).toBe(true);
    const other = VaultRefSchema.parse({ ...vaultRef, path: 'apps/api' });
    expect(spcSelects(vault.provider, vault.parameters, matcherFor(other, {})).selected).toBe(false);
  });

  it('warns when a Vault class names no address (the provider default is assumed)', () => {
    const { vaultAddress: _, ...params } = vault.parameters;
    const r = spcSelects(vault.provider, params, matcherFor(vaultRef, {}));
    expect(r.selected).toBe(true);
    expect(r.warnings.join()).toMatch(/no parameters.vaultAddress/);
  });
});

describe('podSpecMounts', () => {
  const deployment = fixture('deployment-csi.yaml') as unknown as {
    spec: { template: { spec: Parameters<typeof podSpecMounts>[0] } };
  };

  it('finds a Secrets Store CSI volume naming the class', () => {
    expect(podSpecMounts(deployment.spec.template.spec, 'azure-kv-app')).toBe(true);
    expect(podSpecMounts(deployment.spec.template.spec, 'vault-app')).toBe(false);
  });

  it('ignores CSI volumes of other drivers', () => {
    const spec = {
      volumes: [
        {
          name: 'kv',
          csi: { driver: 'other.csi.k8s.io', volumeAttributes: { secretProviderClass: 'azure-kv-app' } },
        },
      ],
    };
    expect(podSpecMounts(spec, 'azure-kv-app')).toBe(false);
  });
});
