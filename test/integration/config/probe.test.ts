import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify as toYaml } from 'yaml';
import type { ProbeReport } from '../../../lib/config/probe.js';
import { createNamespace, kubeClient, testEnv, uniqueName, vaultClient } from '../../env/index.js';
import { folderWith, rotor, UNREACHABLE_KUBECONFIG } from '../../unit/cli/support.js';

/** A kubeconfig for a ServiceAccount bound to nothing: every SelfSubjectAccessReview says no. */
async function unboundIdentityKubeconfig(): Promise<string> {
  const cluster = testEnv().clusters[0]!;
  const admin = kubeClient(cluster, 'admin');
  const namespace = await createNamespace(admin, 'probe');
  const name = uniqueName('nobody');
  await admin.core.createNamespacedServiceAccount({ namespace, body: { metadata: { name } } });
  const token = await admin.core.createNamespacedServiceAccountToken({
    name,
    namespace,
    body: { spec: { audiences: [], expirationSeconds: 3600 } },
  });
  return toYaml({
    apiVersion: 'v1',
    kind: 'Config',
    'current-context': 'nobody',
    clusters: [
      {
        name: 'c',
        cluster: {
          server: cluster.server,
          'certificate-authority-data': Buffer.from(cluster.caPem).toString('base64'),
        },
      },
    ],
    users: [{ name: 'nobody', user: { token: token.status?.token } }],
    contexts: [{ name: 'nobody', context: { cluster: 'c', user: 'nobody' } }],
  });
}

/** An OpenBao token that may only read the KV mount rotor watches. */
async function readOnlyVaultToken(mount: string): Promise<string> {
  const bao = vaultClient();
  const policy = uniqueName('rotor-probe-ro');
  await bao.write(`sys/policies/acl/${policy}`, {
    policy: `path "${mount}/data/*" { capabilities = ["read"] }\npath "${mount}/metadata/*" { capabilities = ["read", "list"] }`,
  });
  const created = (await bao.write('auth/token/create', { policies: [policy], ttl: '1h' })) as {
    auth: { client_token: string };
  };
  return created.auth.client_token;
}

describe('rotor config check --probe (the real CLI against the real servers)', () => {
  it('reports per target whether it is reachable and which permissions rotor lacks, and exits 1', async () => {
    const env = testEnv();
    const alpha = env.clusters[0]!;
    const mount = env.openbao.kvMount;
    const vault = (name: string, token: string) => ({
      name,
      address: env.openbao.address,
      mounts: [{ path: mount, version: '2' }],
      auth: { method: 'token', token },
    });
    const dir = folderWith({ 'keyvault-ca.pem': env.lowkey.caPem });
    const document = {
      keyVaults: [
        {
          name: env.lowkey.vaultName,
          url: env.lowkey.vaultUrl,
          auth: { kind: 'emulator' },
          tls: { caFile: 'keyvault-ca.pem' },
        },
      ],
      vaults: [
        vault('bao-root', env.openbao.rootToken),
        vault('bao-readonly', await readOnlyVaultToken(mount)),
        vault('bao-wrong-token', 'hvs.not-a-token-openbao-knows'),
      ],
      clusters: [
        { name: 'alpha-as-rotor', kubeconfigYaml: alpha.rotorKubeconfig },
        { name: 'alpha-as-nobody', kubeconfigYaml: await unboundIdentityKubeconfig() },
        { name: 'gone', kubeconfigYaml: UNREACHABLE_KUBECONFIG },
      ],
      state: { connectionString: env.azurite.tableConnectionString },
    };
    writeFileSync(join(dir, 'rotor.yaml'), toYaml(document));

    const run = await rotor(['config', 'check', '--probe', '--json'], {
      cwd: dir,
      env: { ROTOR_CONFIG: 'rotor.yaml' },
    });

    expect(run.code).toBe(1);
    const { probe } = JSON.parse(run.stdout) as { probe: ProbeReport };
    const target = (name: string) => probe.targets.find((t) => t.name === name);
    expect(probe.ok).toBe(false);

    expect(target('alpha-as-rotor')).toMatchObject({ reachable: true });
    expect(target('alpha-as-rotor')?.checks.length).toBeGreaterThan(20);
    expect(target('alpha-as-rotor')?.checks.every((c) => c.ok)).toBe(true);
    const nobody = target('alpha-as-nobody');
    expect(nobody?.reachable).toBe(true);
    expect(nobody?.checks.find((c) => c.what === 'patch deployments.apps')).toMatchObject({ ok: false });
    expect(target('gone')).toMatchObject({ reachable: false });
    expect(target('gone')?.error).toContain('unreachable');

    expect(target('bao-root')?.checks.every((c) => c.ok)).toBe(true);
    const readonly = target('bao-readonly')?.checks ?? [];
    expect(readonly.find((c) => c.what.startsWith('read, create, update on'))).toMatchObject({
      ok: false,
      detail: expect.stringContaining('missing create, update'),
    });
    expect(target('bao-wrong-token')?.checks[0]).toMatchObject({
      ok: false,
      detail: expect.stringContaining('the token is invalid or expired'),
    });

    expect(target(env.lowkey.vaultName)).toMatchObject({ kind: 'keyvault', reachable: true });
    expect(target(env.lowkey.vaultName)?.checks.every((c) => c.ok)).toBe(true);
    expect(target('table-storage')).toMatchObject({ reachable: true });
  }, 300_000);
});
