import { describe, expect, it } from 'vitest';
import {
  grantFor,
  type PostgresServer,
  PostgresServerSchema,
} from '../../../../lib/rotation/generators/postgres-server.js';
import type { ProviderContext } from '../../../../lib/rotation/generators/provider.js';
import { GeneratorSpecSchema, type PostgresGeneratorSpec } from '../../../../lib/rotation/policy.js';

const server: PostgresServer = PostgresServerSchema.parse({
  name: 'orders',
  host: 'orders.example',
  port: 5432,
  user: 'rotor_admin',
  password: 'admin-pw',
  roles: ['app_blue', 'app_green', 'report_*', 'rotor_admin'],
  secrets: [
    { keyVault: 'Prod-KV', names: ['orders-db', 'orders-db-*'] },
    { vault: 'main', paths: ['secret/orders/*'] },
  ],
});

const single = GeneratorSpecSchema.parse({ kind: 'postgres' }) as PostgresGeneratorSpec;
const dual = GeneratorSpecSchema.parse({
  kind: 'postgres',
  mode: 'dual',
  roles: ['app_blue', 'app_green'],
}) as PostgresGeneratorSpec;

function context(
  over: Partial<ProviderContext> & { address?: string; credentialId?: string } = {},
): ProviderContext {
  return {
    ref: over.ref ?? { backend: 'azure-keyvault', vault: 'prod-kv', name: 'orders-db' },
    store: over.store ?? 'prod-kv',
    policy: {
      generator: single,
      validityDays: 30,
      providerAddress: 'address' in over ? over.address : 'orders',
      ...(over.credentialId ? { credentialId: over.credentialId } : {}),
    },
    current: over.current ?? 'pw',
  };
}

describe('grantFor: configuration decides server, secret and role', () => {
  it('grants an allowed role for an allowed secret, selecting the entry by name or host:port', () => {
    expect(grantFor([server], context({ credentialId: 'report_eu' }), single)).toMatchObject({
      ok: true,
      role: 'report_eu',
    });
    expect(
      grantFor(
        [server],
        context({ address: 'postgresql://ORDERS.example:5432/other', credentialId: 'app_blue' }),
        single,
      ),
    ).toMatchObject({ ok: true, server: { name: 'orders', database: 'postgres' } });
  });

  it.each([
    ['no ProviderAddress', context({ address: undefined, credentialId: 'app_blue' }), 'no ProviderAddress'],
    [
      'an unconfigured URL',
      context({ address: 'postgresql://10.0.0.9:5432/x', credentialId: 'app_blue' }),
      'names no entry of rotation.postgres',
    ],
    [
      'a URL with another port',
      context({ address: 'postgresql://orders.example:5433/x', credentialId: 'app_blue' }),
      'names no entry',
    ],
    [
      'credentials in the URL',
      context({ address: 'postgresql://u:p@orders.example:5432/x', credentialId: 'app_blue' }),
      'names no entry',
    ],
    [
      'a role outside roles',
      context({ credentialId: 'postgres' }),
      'rotation.postgres[orders].roles does not allow role "postgres"',
    ],
    ['a pattern-like role', context({ credentialId: 'report_*x/y' }), 'rotation.postgres[orders].roles'],
    [
      'the admin login itself',
      context({ credentialId: 'rotor_admin' }),
      'is the administrative login itself',
    ],
    [
      'a username field outside roles',
      context({ current: { username: 'postgres', password: 'x' } }),
      'does not allow role "postgres"',
    ],
    [
      'a secret of another vault',
      context({
        ref: { backend: 'azure-keyvault', vault: 'other', name: 'orders-db' },
        store: 'other',
        credentialId: 'app_blue',
      }),
      'rotation.postgres[orders].secrets does not list azure-keyvault:other/orders-db',
    ],
    [
      'a secret name outside names',
      context({
        ref: { backend: 'azure-keyvault', vault: 'prod-kv', name: 'hr-db' },
        credentialId: 'app_blue',
      }),
      '.secrets does not list',
    ],
    [
      'a Vault path outside paths',
      context({
        ref: { backend: 'vault', address: 'https://v', namespace: '', mount: 'secret', path: 'hr/db' },
        store: 'main',
        credentialId: 'app_blue',
      }),
      '.secrets does not list',
    ],
  ])('refuses %s, naming the configuration', (_what, ctx, reason) => {
    const grant = grantFor([server], ctx, single);
    expect(grant.ok).toBe(false);
    expect(!grant.ok && grant.reason).toContain(reason);
  });

  it('dual mode needs both roles allowed and an admin login', () => {
    const ctx = { ...context(), current: { username: 'app_blue', password: 'x' } };
    expect(grantFor([server], ctx, dual)).toMatchObject({ ok: true, role: 'app_green' });
    const oneOutside = GeneratorSpecSchema.parse({
      kind: 'postgres',
      mode: 'dual',
      roles: ['app_blue', 'postgres'],
    }) as PostgresGeneratorSpec;
    expect(grantFor([server], ctx, oneOutside)).toMatchObject({ ok: false });
    const noAdmin = PostgresServerSchema.parse({ ...server, user: undefined, password: undefined });
    const grant = grantFor([noAdmin], ctx, dual);
    expect(!grant.ok && grant.reason).toContain('needs an administrative login');
  });

  it('verifies TLS unless an entry opts out, and wants user and password together', () => {
    expect(server.tls.mode).toBe('verify-full');
    expect(PostgresServerSchema.safeParse({ ...server, password: undefined }).success).toBe(false);
    expect(PostgresServerSchema.safeParse({ ...server, roles: [] }).success).toBe(false);
    expect(PostgresServerSchema.safeParse({ ...server, secrets: [] }).success).toBe(false);
  });
});
