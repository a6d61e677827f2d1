/**
 * What infra/main.bicep gives rotor as ROTOR_CONFIG_JSON for a parameter file: the template's
 * variables parsed with pycep-parser and evaluated offline (bicep-eval.ts; no Bicep compiler
 * runs here), then validated by rotor's own configuration schema.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Config, parseConfig } from '../../../lib/config.js';
import { REPO_ROOT } from '../../env/paths.js';
import { BicepEvaluator } from './bicep-eval.js';
import { type BicepModel, parseBicep } from './bicep-tools.js';
import { ensurePyTools } from './pytools.js';

let main: BicepModel;

beforeAll(async () => {
  const { models, errors } = await parseBicep(await ensurePyTools(), ['infra/main.bicep']);
  const parsed = models.get('infra/main.bicep');
  if (!parsed) throw new Error(`infra/main.bicep was not parsed: ${errors.get('infra/main.bicep')}`);
  main = parsed;
}, 900_000);

/** ROTOR_CONFIG_JSON as the deployment would set it, read back through rotor's schema. */
function configFor(params: Record<string, unknown>): { raw: Record<string, unknown>; config: Config } {
  const settings = new BicepEvaluator(main, { environmentName: 'test', ...params }).variable(
    'rotorSettings',
  ) as Record<string, string>;
  const raw = JSON.parse(settings.ROTOR_CONFIG_JSON as string) as Record<string, unknown>;
  return { raw, config: parseConfig(raw) };
}

const AKS_SERVER = 'https://aks-prod-dns-0000.hcp.westeurope.azmk8s.io:443';

describe('infra/main.bicep: the configuration it generates', () => {
  it('gives the example parameter file’s cluster the namespaces its aksClusters entry lists (namespaced mode)', async () => {
    const file = JSON.parse(
      await readFile(path.join(REPO_ROOT, 'infra/main.parameters.example.json'), 'utf8'),
    ) as { parameters: Record<string, { value: unknown }> };
    const params = Object.fromEntries(Object.entries(file.parameters).map(([k, v]) => [k, v.value]));

    const { config } = configFor(params);

    expect(config.clusters).toEqual([
      expect.objectContaining({
        name: 'aks-prod',
        namespaces: ['payments', 'checkout'],
        aks: expect.objectContaining({ server: AKS_SERVER }),
      }),
    ]);
    expect(config.keyVaults.map((k) => [k.name, k.rotate])).toEqual([
      ['kv-payments-prod', true],
      ['kv-shared-prod', false],
    ]);
    expect(config.vaults.map((v) => v.name)).toEqual(['bao']);
  });

  it('makes the cluster entry from an aksClusters entry with a server when rotorConfigJson has none', () => {
    const { config } = configFor({
      aksClusters: [
        { name: 'aks-a', server: AKS_SERVER, caData: 'Q0E=', namespaces: ['team-a', 'team-b'] },
        { name: 'aks-b', server: 'https://aks-b.example:443' },
        { name: 'aks-c', namespaces: ['x'] },
      ],
    });

    expect(config.clusters).toEqual([
      expect.objectContaining({
        name: 'aks-a',
        aks: { server: AKS_SERVER, caData: 'Q0E=' },
        namespaces: ['team-a', 'team-b'],
      }),
      expect.objectContaining({ name: 'aks-b', aks: { server: 'https://aks-b.example:443' } }),
    ]);
    // No server and no entry in rotorConfigJson: rotor cannot reach it, so no cluster is made up.
    expect(config.clusters.map((c) => c.name)).not.toContain('aks-c');
    expect(config.clusters[1]).not.toHaveProperty('namespaces');
  });

  it('leaves clusters without namespaces in aksClusters serving the whole cluster, and passes others through', () => {
    const given = {
      clusters: [
        { name: 'aks-prod', aks: { server: AKS_SERVER } },
        { name: 'on-prem', kubeconfig: '/etc/rotor/kubeconfig', namespaces: ['own'] },
      ],
    };

    const { raw, config } = configFor({
      aksClusters: [{ name: 'aks-prod', resourceGroup: 'rg', server: 'https://ignored.example:443' }],
      rotorConfigJson: JSON.stringify(given),
    });

    expect(raw.clusters).toEqual(given.clusters);
    expect(config.clusters.map((c) => c.namespaces)).toEqual([undefined, ['own']]);
  });

  it('generates no clusters when neither aksClusters nor rotorConfigJson names one', () => {
    const { raw } = configFor({ keyVaults: [{ name: 'kv1' }] });
    expect(raw).toEqual({
      keyVaults: [{ name: 'kv1', url: 'https://kv1.vault.azure.net', rotate: true }],
    });
  });

  it('passes a Key Vault reference through whole: it must carry clusters[].namespaces itself', () => {
    const reference = '@Microsoft.KeyVault(VaultName=kv;SecretName=rotor-config)';
    const settings = new BicepEvaluator(main, {
      environmentName: 'test',
      aksClusters: [{ name: 'aks-prod', namespaces: ['a'] }],
      rotorConfigJson: reference,
    }).variable('rotorSettings') as Record<string, string>;
    expect(settings.ROTOR_CONFIG_JSON).toBe(reference);
  });
});
