import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { folderWith, ROOT, rotor, UNREACHABLE_KUBECONFIG } from './support.js';

const SECRET_MANIFEST = join(ROOT, 'test/fixtures/restart/manifests/secret-db.yaml');
const ONE_CLUSTER = JSON.stringify({
  keyVaults: [{ name: 'kv-prod', rotate: false }],
  clusters: [{ name: 'gone', kubeconfigYaml: UNREACHABLE_KUBECONFIG }],
});

describe.concurrent('rotor command line (the real CLI, as a process)', { timeout: 300_000 }, () => {
  it('hash -f prints the Reloader hash; --json is exactly one JSON document on stdout', async () => {
    const run = await rotor(['hash', '-f', SECRET_MANIFEST, '--json']);

    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout) as { kind: string; hash: string };
    expect(result.kind).toBe('Secret');
    expect(result.hash).toMatch(/^[0-9a-f]{40}$/);
  });

  it('hash prints the SHA-1 hash every Reloader release writes, whatever the environment says', async () => {
    const run = await rotor(['hash', '-f', SECRET_MANIFEST, '--json'], {
      env: { ROTOR_HASH_ALGORITHM: 'sha512-256' },
    });

    expect(run.code).toBe(0);
    expect((JSON.parse(run.stdout) as { hash: string }).hash).toMatch(/^[0-9a-f]{40}$/);
  });

  it('hash refuses unpadded base64 as the API server does, and fails', async () => {
    const dir = folderWith({ 'secret.yaml': 'kind: Secret\nmetadata: {name: s}\ndata: {k: YQ}\n' });

    const run = await rotor(['hash', '-f', 'secret.yaml'], { cwd: dir });

    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/data\.k: is not standard base64/);
  });

  it('config check prints what it understood, and exits 0 when nothing is missing', async () => {
    const run = await rotor(['config', 'check'], { env: { ROTOR_CONFIG_JSON: ONE_CLUSTER } });

    expect(run.code).toBe(0);
    expect(run.stdout).toContain('key vaults (1): kv-prod');
    expect(run.stdout).toContain('every request refused; set ROTOR_WEBHOOK_TOKEN');
  });

  it('with nothing configured, config check says what is missing and how to set it (exit 2)', async () => {
    const run = await rotor(['config', 'check', '--json'], { cwd: folderWith({}) });

    expect(run.code).toBe(2);
    const report = JSON.parse(run.stdout) as { ok: boolean; missing: string[] };
    expect(report.ok).toBe(false);
    expect(report.missing.join('\n')).toMatch(/no clusters[\s\S]*ROTOR_CONFIG=/);
  });

  it('config check reports every error at once, named as written, and exits 2', async () => {
    const run = await rotor(['config', 'check'], {
      env: {
        ROTOR_CONFIG_JSON: JSON.stringify({ clustrs: [{ name: 'a' }], restart: { strategy: 'x' } }),
        ROTOR_WEBHOOK_TOKEN: 'too-short',
      },
    });

    expect(run.code).toBe(2);
    expect(run.stderr).toContain('unknown setting "clustrs" (did you mean "clusters"?)');
    expect(run.stderr).toMatch(/restart\.strategy: Invalid option/);
    expect(run.stderr).toMatch(/ROTOR_WEBHOOK_TOKEN: Too small/);
    expect(run.stdout).toBe('');
  });

  it('config check and serve refuse the same schedule, both naming ROTOR_ROTATION_SCHEDULE', async () => {
    const env = { ROTOR_CONFIG_JSON: ONE_CLUSTER, ROTOR_ROTATION_SCHEDULE: 'every hour', PORT: '0' };

    const [check, serve] = await Promise.all([
      rotor(['config', 'check'], { env }),
      rotor(['serve'], { env, until: /listening/ }),
    ]);

    for (const run of [check, serve]) {
      expect(run.code).toBe(2);
      expect(run.stderr).toContain("ROTOR_ROTATION_SCHEDULE: 'every hour' must have six NCRONTAB fields");
    }
  });

  it('serve starts the local host without the Azure Functions "test mode" warnings', async () => {
    const run = await rotor(['serve'], {
      env: { ROTOR_CONFIG_JSON: ONE_CLUSTER, PORT: '0' },
      cwd: join(ROOT, 'docs'),
      until: /rotor host listening/,
    });

    expect(run.stdout).toContain('rotor host listening');
    expect(`${run.stdout}${run.stderr}`).not.toContain('Failed to detect the Azure Functions runtime');
    expect(`${run.stdout}${run.stderr}`).not.toContain('test mode');
  });

  it('reads the .env of the folder it runs in, as npm start does', async () => {
    const cwd = folderWith({
      '.env': `ROTOR_CONFIG_JSON=${ONE_CLUSTER}\nROTOR_RESTART_STRATEGY=annotations\n`,
    });

    const run = await rotor(['config', 'check'], { cwd });

    expect(run.code).toBe(0);
    expect(run.stdout).toContain('restart: strategy annotations');
  });

  it('a missing --name is a usage error in the words of the command line (exit 2)', async () => {
    const run = await rotor(['plan', '--keyvault', 'kv-prod'], { env: { ROTOR_CONFIG_JSON: ONE_CLUSTER } });

    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--keyvault kv-prod needs --name SECRET');
    expect(run.stderr).not.toContain('body');
  });

  it('plan exits 1 when a cluster is unreachable; --json stays one document, logs go to stderr', async () => {
    const run = await rotor(['plan', '--keyvault', 'kv-prod', '--name', 'db', '--json'], {
      env: { ROTOR_CONFIG_JSON: ONE_CLUSTER },
      cwd: join(ROOT, 'docs'),
    });

    expect(run.code).toBe(1);
    const plan = JSON.parse(run.stdout) as { clusters: Array<{ cluster: string; error?: unknown }> };
    expect(plan.clusters[0]?.cluster).toBe('gone');
    expect(plan.clusters[0]?.error).toEqual({
      code: 'transient',
      message: expect.stringContaining('ECONNREFUSED'),
      retryable: true,
    });
    expect(run.stderr).toContain('no state store configured');
  });

  it('plan prints an unreachable cluster with its failure code, and exits 1', async () => {
    const run = await rotor(['plan', '--keyvault', 'kv-prod', '--name', 'db'], {
      env: { ROTOR_CONFIG_JSON: ONE_CLUSTER },
    });

    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^cluster gone: FAILED \[transient, retryable\] .*ECONNREFUSED/m);
    expect(run.stdout).toContain('incomplete: 1 of 1 clusters could not be read');
  });

  it('a Key Vault given by its URL is the configured vault with that URL, not "127"', async () => {
    const config = JSON.stringify({
      keyVaults: [{ name: 'local', url: 'https://127.0.0.1:8443', auth: { kind: 'emulator' } }],
      clusters: [{ name: 'gone', kubeconfigYaml: UNREACHABLE_KUBECONFIG }],
    });

    const wrong = await rotor(['plan', '--keyvault', 'https://127.0.0.1:9999', '--name', 'db'], {
      env: { ROTOR_CONFIG_JSON: config },
    });

    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain('no configured Key Vault has the URL https://127.0.0.1:9999');
    expect(wrong.stderr).toContain('local (https://127.0.0.1:8443)');
    expect(wrong.stderr).not.toContain('"127"');
  });

  it('an unknown command or a missing file says what to do (exit 2)', async () => {
    const [unknown, hash] = await Promise.all([rotor(['frobnicate']), rotor(['hash'])]);

    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown command "frobnicate"');
    expect(hash.code).toBe(2);
    expect(hash.stderr).toContain('hash needs -f FILE');
  });
});
