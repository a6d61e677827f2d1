/**
 * Issue #15.2: a wrong Vault token says the token is invalid, not "grant it read/write".
 * OpenBao answers 403 "permission denied" both for a token it does not know and for a valid
 * token without the policy; the real CLI, as a user runs it, tells the two apart.
 */
import { describe, expect, it } from 'vitest';
import { testEnv, uniqueName, vaultClient } from '../../env/index.js';
import { rotor, UNREACHABLE_KUBECONFIG } from '../../unit/cli/support.js';
import { vaultEntry } from './support.js';

const env = testEnv();

function configWithToken(token: string): string {
  return JSON.stringify({
    vaults: [vaultEntry(env, { rotate: true, auth: { method: 'token', token } })],
    // The rotation fails at the backend, before any cluster is contacted.
    clusters: [{ name: 'gone', kubeconfigYaml: UNREACHABLE_KUBECONFIG }],
  });
}

async function rotateWith(token: string) {
  return rotor(['rotate', '--vault', 'openbao', '--path', `app/${uniqueName('refusal')}`, '--json'], {
    env: { ROTOR_CONFIG_JSON: configWithToken(token) },
  });
}

describe.concurrent('a token OpenBao refuses, through the real CLI', { timeout: 120_000 }, () => {
  it('a token OpenBao does not know: "the token is invalid or expired", exit 1, no advice to grant anything', async () => {
    const run = await rotateWith('s.this-token-was-never-issued');

    expect(run.code).toBe(1);
    const answer = JSON.parse(run.stdout) as { error: string; message: string };
    expect(answer.error).toBe('forbidden');
    expect(answer.message).toMatch(/token is invalid or expired/);
    expect(answer.message).toContain('vaults[openbao].auth.token');
    expect(answer.message).not.toMatch(/grant/);
    expect(run.stderr).toMatch(/rotor: .*token is invalid or expired/);
  });

  it('a valid token whose policies miss the path: "grant its policy …", not "invalid"', async () => {
    const created = (await vaultClient(env).tokenCreate({ policies: ['default'], ttl: '10m' })) as {
      auth: { client_token: string };
    };

    const run = await rotateWith(created.auth.client_token);

    expect(run.code).toBe(1);
    const answer = JSON.parse(run.stdout) as { error: string; message: string };
    expect(answer.error).toBe('forbidden');
    expect(answer.message).toMatch(/token is valid but its policies do not allow this/);
    expect(answer.message).toMatch(/grant its policy read, create and update/);
    expect(answer.message).not.toMatch(/invalid/);
  });
});
