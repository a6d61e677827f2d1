import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../lib/config/load.js';
import { parseConfig } from '../../lib/config.js';
import { ConfigError } from '../../lib/errors.js';

describe('configuration', () => {
  it('an empty environment is a valid configuration with nothing to do', () => {
    const config = loadConfig({});

    expect(config.clusters).toEqual([]);
    expect(config.restart.strategy).toBe('env-vars');
    expect(config.port).toBe(7071);
  });

  it('lists every problem at once, each with its path', () => {
    const attempt = () =>
      parseConfig({
        keyVaults: [{ name: '' }],
        vaults: [{ name: 'main', address: 'https://vault:8200', mounts: [] }],
        clusters: [{ name: 'a' }],
        restart: { strategy: 'rolling' },
      });

    expect(attempt).toThrow(ConfigError);
    try {
      attempt();
    } catch (error) {
      const issues = (error as ConfigError).issues.join('\n');
      expect(issues).toContain('keyVaults.0.name');
      expect(issues).toContain('vaults.0.mounts');
      expect(issues).toContain('clusters.0');
      expect(issues).toContain('restart.strategy');
    }
  });

  it('single settings come from app settings and override the document', () => {
    const config = loadConfig({
      ROTOR_CONFIG_JSON: JSON.stringify({
        restart: { strategy: 'annotations' },
        keyVaults: [{ name: 'KV-Prod' }],
      }),
      ROTOR_RESTART_STRATEGY: 'env-vars',
      ROTOR_COALESCE_WINDOW_MS: '500',
      ROTOR_NAMESPACES_TO_IGNORE: 'kube-system, istio-system',
      AzureWebJobsStorage: 'UseDevelopmentStorage=true',
    });

    expect(config.restart.strategy).toBe('env-vars');
    expect(config.restart.coalesceWindowMs).toBe(500);
    expect(config.restart.namespacesToIgnore).toEqual(['kube-system', 'istio-system']);
    expect(config.keyVaults[0]?.name).toBe('kv-prod');
    expect(config.state.connectionString?.reveal()).toBe('UseDevelopmentStorage=true');
  });

  it('restart.reloader says whether Reloader runs too (ROTOR_RELOADER, ROTOR_RELOADER_GRACE_MS); none by default', () => {
    expect(loadConfig({}).restart).toMatchObject({ reloader: 'none', reloaderGraceMs: 2_000 });
    expect(loadConfig({ ROTOR_RELOADER: 'coexist', ROTOR_RELOADER_GRACE_MS: '1500' }).restart).toMatchObject({
      reloader: 'coexist',
      reloaderGraceMs: 1_500,
    });
    expect(() => loadConfig({ ROTOR_RELOADER: 'yes' })).toThrow(/ROTOR_RELOADER/);
  });

  it('addresses are normalised so the same server compares equal', () => {
    const config = parseConfig({
      vaults: [
        {
          name: 'main',
          address: 'HTTPS://Vault.Example:443/',
          mounts: [{ path: 'secret' }],
          aliases: ['http://vault.vault.svc:8200/'],
        },
      ],
    });

    expect(config.vaults[0]?.address).toBe('https://vault.example');
    expect(config.vaults[0]?.aliases).toEqual(['http://vault.vault.svc:8200']);
  });

  it('an unreadable document is reported, not ignored', () => {
    expect(() => loadConfig({ ROTOR_CONFIG: '/nonexistent/rotor.yaml' })).toThrow(
      /cannot read configuration document/,
    );
  });

  it('the loaded configuration cannot be changed afterwards', () => {
    const config = loadConfig({});
    expect(() => {
      (config.restart as { strategy: string }).strategy = 'annotations';
    }).toThrow(TypeError);
  });

  it('a cluster may list the namespaces rotor serves there (namespaced mode); unset means the whole cluster', () => {
    const config = parseConfig({
      clusters: [
        { name: 'shared', kubeconfig: '/k', namespaces: ['team-a', 'team-b'] },
        { name: 'own', kubeconfig: '/k' },
      ],
    });

    expect(config.clusters.map((c) => c.namespaces)).toEqual([['team-a', 'team-b'], undefined]);
  });

  it.each([
    [[], 'at least one namespace'],
    [['Team-A'], 'DNS label'],
    [['a/b'], 'DNS label'],
    [['x'.repeat(64)], 'DNS label'],
    [['team-a', 'team-a'], 'listed twice'],
    ['team-a', 'clusters.0.namespaces'],
  ])('refuses namespaces %j (%s)', (namespaces, said) => {
    expect(() => parseConfig({ clusters: [{ name: 'c', kubeconfig: '/k', namespaces }] })).toThrow(said);
  });
});
