import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { testEnv, uniqueName } from '../../env/index.js';

async function withClient<T>(config: pg.ClientConfig, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ ...config, connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

describe('PostgreSQL', () => {
  it('lets a role log in with its new password after ALTER ROLE, and not with the old one', async () => {
    const env = testEnv().postgres;
    const role = uniqueName('app').replaceAll('-', '_');
    const base = { host: env.host, port: env.port, database: env.database };
    await withClient(env, (c) => c.query(`CREATE ROLE ${role} LOGIN PASSWORD 'old-password-1'`));

    await withClient(env, (c) => c.query(`ALTER ROLE ${role} PASSWORD 'new-password-2'`));
    const who = await withClient({ ...base, user: role, password: 'new-password-2' }, (c) =>
      c.query<{ current_user: string }>('SELECT current_user'),
    );
    const old = withClient({ ...base, user: role, password: 'old-password-1' }, (c) => c.query('SELECT 1'));

    expect(who.rows[0]?.current_user).toBe(role);
    await expect(old).rejects.toThrow(/password authentication failed/);
  });

  it('serves the rotor database to the superuser over TCP with a password', async () => {
    const env = testEnv().postgres;
    const res = await withClient(env, (c) => c.query<{ db: string }>('SELECT current_database() AS db'));
    expect(res.rows[0]?.db).toBe('rotor');
  });
});
