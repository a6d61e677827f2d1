import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readEnvironment } from '../../../lib/config/environment.js';
import { loadConfig } from '../../../lib/config/load.js';

import { ConfigError } from '../../../lib/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'rotor-config-'));
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};
const issuesOf = (attempt: () => unknown): string[] => {
  try {
    attempt();
  } catch (error) {
    if (error instanceof ConfigError) return error.issues;
    throw error;
  }
  throw new Error('expected a ConfigError');
};

const KUBECONFIG = `apiVersion: v1
kind: Config
current-context: dev
clusters: [{ name: dev, cluster: { server: 'https://127.0.0.1:6443' } }]
users: [{ name: me, user: { token: t } }]
contexts: [{ name: dev, context: { cluster: dev, user: me } }]
`;

describe('loading the configuration', () => {
  it('names each unknown key with its file:line and the closest valid key', () => {
    const path = file(
      'typos.yaml',
      'clustrs:\n  - name: a\nrestart:\n  stratgy: env-vars\n  coalesceWindowMs: 100\n',
    );

    const issues = issuesOf(() => loadConfig({ ROTOR_CONFIG: path }));

    expect(issues).toContain(`${path}:1:1 clustrs: unknown setting "clustrs" (did you mean "clusters"?)`);
    expect(issues).toContain(
      `${path}:4:3 restart.stratgy: unknown setting "stratgy" (did you mean "strategy"?)`,
    );
  });

  it('names a YAML syntax error by file, line and column', () => {
    const path = file('broken.yaml', 'clusters:\n  - name: a\n   kubeconfig: x\n');

    const issues = issuesOf(() => loadConfig({ ROTOR_CONFIG: path }));

    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatch(new RegExp(`^${path}:3:\\d+: `));
  });

  it('names the app setting the user wrote, not the schema path', () => {
    const issues = issuesOf(() =>
      loadConfig({ ROTOR_WEBHOOK_TOKEN: 'short', ROTOR_ROTATION_SCHEDULE: 'every hour' }),
    );

    expect(issues.find((i) => i.startsWith('ROTOR_WEBHOOK_TOKEN: '))).toBeDefined();
    expect(issues.find((i) => i.startsWith('ROTOR_ROTATION_SCHEDULE: '))).toMatch(/six NCRONTAB fields/);
    expect(issues.join('\n')).not.toContain('webhook.bearerToken');
  });

  it('checks that a kubeconfig file and its context exist', () => {
    const kubeconfig = file('kubeconfig', KUBECONFIG);
    const missingFile = file('c1.yaml', 'clusters:\n  - name: a\n    kubeconfig: ./nope\n');
    const missingContext = file(
      'c2.yaml',
      `clusters:\n  - name: a\n    kubeconfig: ${kubeconfig}\n    context: prod\n`,
    );
    const good = file('c3.yaml', 'clusters:\n  - name: a\n    kubeconfig: kubeconfig\n    context: dev\n');

    expect(issuesOf(() => loadConfig({ ROTOR_CONFIG: missingFile })).join('\n')).toContain(
      `kubeconfig file ${join(dir, 'nope')} does not exist`,
    );
    expect(issuesOf(() => loadConfig({ ROTOR_CONFIG: missingContext })).join('\n')).toContain(
      'context "prod" not found (contexts: dev)',
    );
    // Relative to the document's folder, as kubectl reads paths in a kubeconfig.
    expect(loadConfig({ ROTOR_CONFIG: good }).clusters[0]?.kubeconfig).toBe(kubeconfig);
  });

  it('refuses a Vault server without complete credentials', () => {
    const vault = (auth: string) =>
      JSON.stringify({
        vaults: [
          { name: 'main', address: 'http://v:8200', mounts: [{ path: 'secret' }], ...JSON.parse(auth) },
        ],
      });

    expect(issuesOf(() => loadConfig({ ROTOR_CONFIG_JSON: vault('{}') })).join('\n')).toContain(
      'vault "main" has no credentials',
    );
    expect(
      issuesOf(() =>
        loadConfig({ ROTOR_CONFIG_JSON: vault('{"auth":{"method":"approle","roleId":"r"}}') }),
      ).join('\n'),
    ).toContain('vaults.0.auth.secretId: required');
  });

  it('reads a .env file like npm start does; the process environment wins', () => {
    const project = mkdtempSync(join(tmpdir(), 'rotor-dotenv-'));
    writeFileSync(join(project, '.env'), 'ROTOR_RESTART_STRATEGY=annotations\nROTOR_CONFIG=rotor.yaml\n');
    writeFileSync(join(project, 'rotor.yaml'), 'restart:\n  coalesceWindowMs: 700\n');

    const env = readEnvironment(project);
    const config = loadConfig(env);

    expect(env.envFile).toBe(join(project, '.env'));
    expect(config.restart.strategy).toBe('annotations');
    // ROTOR_CONFIG from the .env is relative to the .env's folder, whatever the current folder.
    expect(config.restart.coalesceWindowMs).toBe(700);
  });
});
