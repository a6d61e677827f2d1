import pg from 'pg';
import { describe, expect, it } from 'vitest';
import type { Backend } from '../../../lib/backends/backend.js';
import { BACKEND_FACTORIES, type BackendFactory, createBackends } from '../../../lib/backends/registry.js';
import { TransientError } from '../../../lib/errors.js';
import { RotationEngine } from '../../../lib/rotation/engine.js';
import type { KeyVaultRef, VaultRef } from '../../../lib/secret-ref.js';
import { keyVaultClientForTest, testEnv, uniqueName, vaultClient } from '../../env/index.js';
import { asSuperuser, canLogin, postgresServer, roleName, testConfig } from '../backends/support.js';

const env = testEnv();
const kv = keyVaultClientForTest(env.lowkey);
const root = vaultClient(env);
const mount = env.openbao.kvMount;
const pgUrl = `postgresql://${env.postgres.host}:${env.postgres.port}/${env.postgres.database}`;
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

async function storedVerifier(role: string): Promise<string> {
  const client = new pg.Client({ ...env.postgres });
  await client.connect();
  try {
    const { rows } = await client.query('SELECT rolpassword FROM pg_authid WHERE rolname = $1', [role]);
    return rows[0].rolpassword as string;
  } finally {
    await client.end();
  }
}

function engineFor(config = testConfig(env), backends = createBackends(config)) {
  return new RotationEngine({ backends, config });
}

describe('PostgreSQL credential rotation', () => {
  it('single role, samples format (Key Vault value = password): logs in as the role itself, and only the new password works after', async () => {
    const role = roleName('single');
    await createRole(role, 'initial-Pass-1');
    const name = uniqueName('pg-single');
    // The entry has no admin login: rotor changes the role's password by logging in as the role.
    const config = testConfig(env, { rotation: { postgres: [postgresServer(env, { admin: false })] } });
    await kv.setSecret(name, 'initial-Pass-1', {
      tags: { CredentialId: role, ProviderAddress: pgUrl, ValidityPeriodDays: '30' },
    });

    const result = await engineFor(config).rotate(kvRef(name), { reason: 'manual' });

    const stored = await kv.getSecret(name);
    expect(result).toMatchObject({ status: 'rotated', credentialId: role });
    expect(stored.value).toMatch(/^[A-Za-z0-9]{32}$/);
    expect(await canLogin(env, role, stored.value as string)).toBe(true);
    expect(await canLogin(env, role, 'initial-Pass-1')).toBe(false);
    expect(await storedVerifier(role)).toMatch(/^SCRAM-SHA-256\$4096:/);
  });

  it('single role with username/password fields in Vault, through the configured admin login', async () => {
    const role = roleName('vsingle');
    await createRole(role, 'start-pw');
    const path = `rotor/${uniqueName('pg-vsingle')}`;
    await root.write(`${mount}/data/${path}`, {
      data: { username: role, password: 'start-pw', host: env.postgres.host },
    });
    await root.write(`${mount}/metadata/${path}`, {
      custom_metadata: { 'rotor-generator': 'postgres', ProviderAddress: 'test-pg' },
    });

    const result = await engineFor().rotate(vaultRef(path), { reason: 'manual' });

    const data = (await root.read(`${mount}/data/${path}`)).data.data;
    expect(result.status).toBe('rotated');
    expect(data).toMatchObject({ username: role, host: env.postgres.host });
    expect(await canLogin(env, role, data.password)).toBe(true);
    expect(await canLogin(env, role, 'start-pw')).toBe(false);
  });

  it('dual role in Vault: rotates the inactive role, and the previously active credential works until its own next rotation', async () => {
    const blue = roleName('blue');
    const green = roleName('green');
    await createRole(blue, 'blue-0');
    await createRole(green, 'green-0');
    const path = `rotor/${uniqueName('pg-dual')}`;
    await root.write(`${mount}/data/${path}`, { data: { username: blue, password: 'blue-0' } });
    await root.write(`${mount}/metadata/${path}`, {
      custom_metadata: {
        'rotor-generator': 'postgres',
        'rotor-generator-options': JSON.stringify({ mode: 'dual', roles: [blue, green] }),
        ProviderAddress: pgUrl,
        CredentialId: blue,
      },
    });
    const engine = engineFor();
    const read = async () => (await root.read(`${mount}/data/${path}`)).data.data as Record<string, string>;

    const first = await engine.rotate(vaultRef(path), { reason: 'manual' });
    const afterFirst = await read();

    expect(first).toMatchObject({ status: 'rotated', credentialId: green });
    expect(afterFirst.username).toBe(green);
    expect(await canLogin(env, green, afterFirst.password as string)).toBe(true);
    expect(await canLogin(env, blue, 'blue-0')).toBe(true);
    expect((await root.read(`${mount}/metadata/${path}`)).data.custom_metadata.CredentialId).toBe(green);

    const second = await engine.rotate(vaultRef(path), { reason: 'manual' });
    const afterSecond = await read();

    expect(second).toMatchObject({ status: 'rotated', credentialId: blue });
    expect(afterSecond.username).toBe(blue);
    expect(await canLogin(env, blue, afterSecond.password as string)).toBe(true);
    expect(await canLogin(env, green, afterFirst.password as string)).toBe(true);
    expect(await canLogin(env, blue, 'blue-0')).toBe(false);
  });

  it("dual role in Key Vault: JSON value and the CredentialId tag alternate like the samples' key1/key2", async () => {
    const a = roleName('key1');
    const b = roleName('key2');
    await createRole(a, 'a-0');
    await createRole(b, 'b-0');
    const name = uniqueName('pg-kvdual');
    await kv.setSecret(name, JSON.stringify({ username: a, password: 'a-0' }), {
      contentType: 'application/json',
      tags: {
        'rotor-generator': 'postgres',
        'rotor-generator-options': JSON.stringify({ mode: 'dual', roles: [a, b] }),
        ProviderAddress: 'test-pg',
        CredentialId: a,
      },
    });

    const result = await engineFor().rotate(kvRef(name), { reason: 'manual' });

    const stored = await kv.getSecret(name);
    const value = JSON.parse(stored.value as string) as { username: string; password: string };
    expect(result).toMatchObject({ status: 'rotated', credentialId: b });
    expect(value.username).toBe(b);
    expect(stored.properties.tags?.CredentialId).toBe(b);
    expect(stored.properties.contentType).toBe('application/json');
    expect(await canLogin(env, b, value.password)).toBe(true);
    expect(await canLogin(env, a, 'a-0')).toBe(true);
  });

  it('single role: when the secret write fails after ALTER ROLE, the stored password is restored at the database', async () => {
    const role = roleName('rollback');
    await createRole(role, 'keep-me');
    const path = `rotor/${uniqueName('pg-rollback')}`;
    await root.write(`${mount}/data/${path}`, { data: { username: role, password: 'keep-me' } });
    await root.write(`${mount}/metadata/${path}`, {
      custom_metadata: { 'rotor-generator': 'postgres', ProviderAddress: pgUrl },
    });
    const config = testConfig(env);
    const failingWrites: BackendFactory = {
      kind: 'vault',
      create: (c, deps) =>
        (BACKEND_FACTORIES.find((f) => f.kind === 'vault') as BackendFactory).create(c, deps).map(
          (b): Backend =>
            Object.assign(Object.create(b) as Backend, {
              write: async () => {
                throw new TransientError('store unavailable (injected)');
              },
            }),
        ),
    };

    const rotation = engineFor(config, createBackends(config, { factories: [failingWrites] })).rotate(
      vaultRef(path),
      {
        reason: 'manual',
      },
    );

    await expect(rotation).rejects.toBeInstanceOf(TransientError);
    expect(await canLogin(env, role, 'keep-me')).toBe(true);
  });

  it('escapes role names: a role whose name needs quoting is rotated, and nothing else is touched', async () => {
    const role = `Odd "Name"; DROP ROLE x; ${roleName('q')}`;
    await createRole(role, 'odd-0');
    const name = uniqueName('pg-quote');
    await kv.setSecret(name, JSON.stringify({ username: role, password: 'odd-0' }), {
      tags: { 'rotor-generator': 'postgres', ProviderAddress: 'test-pg' },
    });

    const result = await engineFor().rotate(kvRef(name), { reason: 'manual' });

    const value = JSON.parse((await kv.getSecret(name)).value as string) as { password: string };
    expect(result.status).toBe('rotated');
    expect(await canLogin(env, role, value.password)).toBe(true);
  });
});
