import { z } from 'zod';
import { matchesAny } from '../../name-pattern.js';
import { secretString } from '../../redacted.js';
import { refKey } from '../../secret-ref.js';
import type { PostgresGeneratorSpec } from '../policy.js';
import { fieldsOf } from '../value.js';
import type { ProviderContext } from './provider.js';

const patterns = z.array(z.string().min(1)).min(1);

/** Which secrets may name this server in their ProviderAddress: a configured store plus names or mount/paths. */
const SecretScopeSchema = z.union([
  z
    .object({
      keyVault: z
        .string()
        .min(1)
        .transform((n) => n.toLowerCase()),
      names: patterns,
    })
    .strict(),
  z.object({ vault: z.string().min(1), paths: patterns }).strict(),
]);

/**
 * One PostgreSQL server rotor may change role passwords on (`rotation.postgres[]`).
 * Configuration decides everything that matters: the address, the login, the roles that
 * may be changed and the secrets that may ask for it. A secret's tags only select an
 * entry by name (or by its host:port) and a role among `roles`.
 */
export const PostgresServerSchema = z
  .object({
    name: z.string().min(1),
    host: z.string().min(1),
    port: z.coerce.number().int().min(1).max(65535).default(5432),
    database: z.string().min(1).default('postgres'),
    /** Administrative login (CREATEROLE). Without one, single-role rotation logs in as the role itself. */
    user: z.string().min(1).optional(),
    password: secretString().optional(),
    /** Roles whose password rotor may change here: exact names or anchored globs (`app_*`). */
    roles: patterns,
    /** Secrets that may use this entry: `{keyVault, names}` or `{vault, paths}` (`mount/path`), globs allowed. */
    secrets: z.array(SecretScopeSchema).min(1),
    /** TLS with certificate and host name verification unless `mode: disable` is written here. */
    tls: z
      .object({
        mode: z.enum(['verify-full', 'disable']).default('verify-full'),
        /** PEM file of the CA that signed the server's certificate (default: the system's CAs). */
        caFile: z.string().optional(),
      })
      .strict()
      .default({ mode: 'verify-full' }),
  })
  .strict()
  .refine((s) => (s.user === undefined) === (s.password === undefined), {
    message: 'give both user and password (an administrative login) or neither',
  });

export type PostgresServer = z.output<typeof PostgresServerSchema>;

export type PostgresGrant =
  | { ok: true; server: PostgresServer; role: string }
  | { ok: false; reason: string };

/**
 * Decides, from configuration alone, whether this rotation may happen and where: the
 * entry the secret's ProviderAddress selects, the secret allowed by that entry's
 * `secrets`, the role(s) allowed by its `roles`. Runs before any connection is made.
 */
export function grantFor(
  servers: readonly PostgresServer[],
  context: ProviderContext,
  spec: PostgresGeneratorSpec,
): PostgresGrant {
  const address = context.policy.providerAddress;
  if (!address) return refuse('the secret has no ProviderAddress naming an entry of rotation.postgres');
  const server = selectServer(servers, address);
  if (!server)
    return refuse(
      `ProviderAddress "${address}" names no entry of rotation.postgres (by name or host:port); ` +
        'rotor connects only to configured servers',
    );
  const field = `rotation.postgres[${server.name}]`;
  if (!secretAllowed(server, context)) return refuse(`${field}.secrets does not list ${refKey(context.ref)}`);
  const role = targetRole(context, spec);
  if (!role.ok) return role;
  const involved = spec.mode === 'dual' ? [...(spec.roles as [string, string])] : [role.role];
  for (const name of involved) {
    if (name === server.user) return refuse(`${field}: role "${name}" is the administrative login itself`);
    if (!matchesAny(server.roles, name)) return refuse(`${field}.roles does not allow role "${name}"`);
  }
  if (spec.mode === 'dual' && server.user === undefined)
    return refuse(`${field}: dual-role rotation needs an administrative login (user, password)`);
  return { ok: true, server, role: role.role };
}

/** By entry name, or by a postgresql:// URL whose host and port are an entry's. */
function selectServer(servers: readonly PostgresServer[], address: string): PostgresServer | undefined {
  const byName = servers.find((s) => s.name === address);
  if (byName) return byName;
  let url: URL;
  try {
    url = new URL(address);
  } catch {
    return undefined;
  }
  if (!/^postgres(ql)?:$/i.test(url.protocol) || url.username || url.password) return undefined;
  const host = url.hostname.toLowerCase();
  const port = Number(url.port || 5432);
  return servers.find((s) => s.host.toLowerCase() === host && s.port === port);
}

function secretAllowed(server: PostgresServer, context: ProviderContext): boolean {
  const ref = context.ref;
  return server.secrets.some((scope) => {
    if ('keyVault' in scope)
      return (
        ref.backend === 'azure-keyvault' &&
        scope.keyVault === context.store &&
        matchesAny(scope.names, ref.name)
      );
    return (
      ref.backend === 'vault' &&
      scope.vault === context.store &&
      matchesAny(scope.paths, `${ref.mount}/${ref.path}`)
    );
  });
}

/** The role whose password this rotation changes. */
function targetRole(
  context: ProviderContext,
  spec: PostgresGeneratorSpec,
): { ok: true; role: string } | { ok: false; reason: string } {
  const stored = fieldsOf(context.current)?.[spec.usernameField];
  if (spec.mode === 'single') {
    const role = spec.role ?? context.policy.credentialId ?? stored;
    if (!role)
      return refuse(
        'single-role PostgreSQL rotation needs the role: CredentialId tag, "role" option or a username field',
      );
    return { ok: true, role };
  }
  const roles = spec.roles as [string, string];
  const active = stored ?? context.policy.credentialId;
  if (active !== undefined && !roles.includes(active))
    return refuse(`active role ${active} is not one of the dual roles ${roles.join(', ')}`);
  return { ok: true, role: active === roles[0] ? roles[1] : roles[0] };
}

function refuse(reason: string): { ok: false; reason: string } {
  return { ok: false, reason };
}
