import net from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackends } from '../../../lib/backends/registry.js';
import type { Config } from '../../../lib/config.js';
import { RotationEngine } from '../../../lib/rotation/engine.js';
import type { KeyVaultRef, VaultRef } from '../../../lib/secret-ref.js';
import { keyVaultClientForTest, testEnv, uniqueName, vaultClient } from '../../env/index.js';
import { asSuperuser, canLogin, postgresServer, roleName, testConfig } from '../backends/support.js';

/**
 * Issue #12.1: a secret's tags and custom_metadata select among what `rotation.postgres`
 * allows; they never choose a role, a secret or an address on their own.
 */
const env = testEnv();
const kv = keyVaultClientForTest(env.lowkey);
const root = vaultClient(env);
const mount = env.openbao.kvMount;
const kvRef = (name: string): KeyVaultRef => ({
  backend: 'azure-keyvault',
  vault: env.lowkey.vaultName,
  name,
});
const vaultRef = (path: string): VaultRef => ({
  backend: 'vault',
  address: env.openbao.address,
  namespace: '',
  mount,
  path,
});

async function createRole(name: string, password: string): Promise<void> {
  await asSuperuser(
    env,
    `CREATE ROLE ${pg.escapeIdentifier(name)} LOGIN PASSWORD ${pg.escapeLiteral(password)}`,
  );
}

function rotate(config: Config, ref: KeyVaultRef | VaultRef) {
  return new RotationEngine({ backends: createBackends(config), config }).rotate(ref, { reason: 'manual' });
}

/** A TCP listener that records every connection and closes it at once. */
let canary: net.Server;
let canaryConnections = 0;
beforeAll(async () => {
  canary = net.createServer((socket) => {
    canaryConnections += 1;
    socket.destroy();
  });
  await new Promise<void>((resolve) => canary.listen(0, '127.0.0.1', resolve));
});
afterAll(() => new Promise<void>((resolve) => canary.close(() => resolve())));

describe('PostgreSQL rotation is bounded by rotation.postgres', () => {
  it("refuses a CredentialId outside the entry's roles: the victim role's password still works and the secret is untouched", async () => {
    const victim = `victim_${Math.random().toString(36).slice(2, 10)}`;
    await createRole(victim, 'victim-pass-0');
    const name = uniqueName('pg-deputy');
    await kv.setSecret(name, 'attacker-knows-nothing', {
      tags: {
        'rotor-generator': 'postgres',
        'rotor-generator-options': JSON.stringify({ mode: 'single' }),
        ProviderAddress: 'test-pg',
        CredentialId: victim,
      },
    });

    const result = await rotate(testConfig(env), kvRef(name));

    expect(result).toMatchObject({ status: 'skipped', reason: 'not-rotatable' });
    expect(result.status === 'skipped' && result.detail).toContain('rotation.postgres[test-pg].roles');
    expect(await canLogin(env, victim, 'victim-pass-0')).toBe(true);
    expect((await kv.getSecret(name)).value).toBe('attacker-knows-nothing');
  });

  it("refuses a KV v2 secret outside the entry's secrets, even for an allowed role", async () => {
    const role = roleName('outside');
    await createRole(role, 'outside-0');
    const path = `elsewhere/${uniqueName('pg-outside')}`;
    await root.write(`${mount}/data/${path}`, { data: { username: role, password: 'outside-0' } });
    await root.write(`${mount}/metadata/${path}`, {
      custom_metadata: { 'rotor-generator': 'postgres', ProviderAddress: 'test-pg' },
    });

    const result = await rotate(testConfig(env), vaultRef(path));

    expect(result).toMatchObject({ status: 'skipped', reason: 'not-rotatable' });
    expect(result.status === 'skipped' && result.detail).toContain('rotation.postgres[test-pg].secrets');
    expect(await canLogin(env, role, 'outside-0')).toBe(true);
  });

  it('never connects to a ProviderAddress that no entry configures (a canary listener sees no connection)', async () => {
    const role = roleName('canary');
    const name = uniqueName('pg-canary');
    const address = canary.address() as net.AddressInfo;
    await kv.setSecret(name, 'current-password-must-not-leave', {
      tags: {
        'rotor-generator': 'postgres',
        ProviderAddress: `postgresql://127.0.0.1:${address.port}/db`,
        CredentialId: role,
      },
    });
    const before = canaryConnections;

    const result = await rotate(testConfig(env), kvRef(name));

    expect(result).toMatchObject({ status: 'skipped', reason: 'not-rotatable' });
    expect(result.status === 'skipped' && result.detail).toContain('names no entry of rotation.postgres');
    expect(canaryConnections - before).toBe(0);
  });

  it('verifies TLS unless the entry opts out: a server without TLS is refused and the role keeps its password', async () => {
    const role = roleName('tls');
    await createRole(role, 'tls-0');
    const name = uniqueName('pg-tls');
    await kv.setSecret(name, JSON.stringify({ username: role, password: 'tls-0' }), {
      tags: { 'rotor-generator': 'postgres', ProviderAddress: 'test-pg' },
    });
    const { tls: _optOut, ...verified } = postgresServer(env);

    const rotation = rotate(testConfig(env, { rotation: { postgres: [verified] } }), kvRef(name));

    await expect(rotation).rejects.toThrow(/TLS could not be verified.*rotation\.postgres\[test-pg\]\.tls/);
    expect(await canLogin(env, role, 'tls-0')).toBe(true);
    expect(JSON.parse((await kv.getSecret(name)).value as string)).toEqual({
      username: role,
      password: 'tls-0',
    });
  });
});
