import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { type Config, type ConfigInput, parseConfig } from '../../../lib/config.js';
import type { EnvDescriptor } from '../../env/index.js';

/**
 * Configuration pointing rotor at the test environment's real servers, built the way a
 * user would write it (CA as a file, emulator auth for the Key Vault endpoint).
 */
export function caFileOf(pem: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rotor-ca-'));
  const file = path.join(dir, 'ca.pem');
  writeFileSync(file, pem);
  return file;
}

export function keyVaultEntry(env: EnvDescriptor): NonNullable<ConfigInput['keyVaults']>[number] {
  return {
    name: env.lowkey.vaultName,
    url: env.lowkey.vaultUrl,
    auth: { kind: 'emulator' },
    tls: { caFile: caFileOf(env.lowkey.caPem) },
  };
}

export function vaultEntry(
  env: EnvDescriptor,
  extra: Partial<NonNullable<ConfigInput['vaults']>[number]> = {},
) {
  return {
    name: 'openbao',
    address: env.openbao.address,
    mounts: [{ path: env.openbao.kvMount, version: '2' as const }],
    auth: { method: 'token' as const, token: env.openbao.rootToken },
    ...extra,
  };
}

/**
 * The test PostgreSQL server as a `rotation.postgres` entry: the test roles (`rot_*`) and the
 * test secrets (`pg-*` in the Key Vault endpoint, `rotor/pg-*` in OpenBao's KV mount) may use
 * it. The test server speaks no TLS, so the entry opts out explicitly.
 */
export function postgresServer(
  env: EnvDescriptor,
  options: { name?: string; admin?: boolean; roles?: string[] } = {},
) {
  const p = env.postgres;
  return {
    name: options.name ?? 'test-pg',
    host: p.host,
    port: p.port,
    database: p.database,
    ...(options.admin === false ? {} : { user: p.user, password: p.password }),
    roles: options.roles ?? ['rot_*', 'Odd "Name"; DROP ROLE x; rot_*'],
    secrets: [
      { keyVault: env.lowkey.vaultName, names: ['pg-*'] },
      { vault: 'openbao', paths: [`${env.openbao.kvMount}/rotor/pg-*`] },
    ],
    tls: { mode: 'disable' as const },
  };
}

export function testConfig(env: EnvDescriptor, input: ConfigInput = {}): Config {
  return parseConfig({
    keyVaults: [keyVaultEntry(env)],
    vaults: [vaultEntry(env)],
    state: {
      connectionString: env.azurite.tableConnectionString,
      tablePrefix: `t${Date.now().toString(36)}`,
    },
    ...input,
    rotation: { postgres: [postgresServer(env)], ...(input.rotation ?? {}) },
  });
}

/** Runs SQL as the test superuser (setup only). */
export async function asSuperuser(env: EnvDescriptor, sql: string): Promise<void> {
  const client = new pg.Client({ ...env.postgres, connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** Whether PostgreSQL accepts this login (password authentication over TCP). */
export async function canLogin(env: EnvDescriptor, user: string, password: string): Promise<boolean> {
  const client = new pg.Client({
    host: env.postgres.host,
    port: env.postgres.port,
    database: env.postgres.database,
    user,
    password,
    connectionTimeoutMillis: 5_000,
  });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch (error) {
    if ((error as { code?: string }).code === '28P01') return false;
    throw error;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** A role name unique to one test (lower-case, a valid unquoted identifier, allowed by `postgresServer`). */
export function roleName(prefix: string): string {
  return `rot_${prefix}_${Math.random().toString(36).slice(2, 10)}`;
}
