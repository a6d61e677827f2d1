import { readFileSync } from 'node:fs';
import type pg from 'pg';
import type { SecretValue } from '../../backends/backend.js';
import { ForbiddenError, NotFoundError, RotorError, TransientError, ValidationError } from '../../errors.js';
import type { PostgresGeneratorSpec } from '../policy.js';
import { fieldsOf } from '../value.js';
import { generatePassword, type RandomInt, secureRandomInt } from './password.js';
import { grantFor, type PostgresServer } from './postgres-server.js';
import type { CredentialProvider, IssuedCredential, ProviderContext } from './provider.js';
import { scramSha256Verifier } from './scram.js';

interface Server {
  /** The rotation.postgres entry, for messages that name the field to change. */
  name: string;
  host: string;
  port: number;
  database: string;
  ssl: false | { rejectUnauthorized: true; ca?: string };
  admin?: { user: string; password: string };
}

interface Login {
  user: string;
  password: string;
}

/**
 * PostgreSQL role passwords (ALTER ROLE ... PASSWORD), single-role or dual-role.
 * Dual: two roles with the same grants; the secret names the active one, rotor changes
 * the other one's password and then points the secret at it, so the credential
 * consumers hold keeps working until the rotation after next (the samples' key1/key2).
 * The password is sent as a SCRAM-SHA-256 verifier, never in clear.
 */
export class PostgresProvider implements CredentialProvider {
  readonly kind = 'postgres' as const;

  constructor(
    private readonly servers: readonly PostgresServer[],
    private readonly randomInt: RandomInt = secureRandomInt,
  ) {}

  authorize(context: ProviderContext): string | undefined {
    const grant = grantFor(this.servers, context, specOf(context));
    return grant.ok ? undefined : grant.reason;
  }

  async issue(context: ProviderContext): Promise<IssuedCredential> {
    const spec = specOf(context);
    const { server, role } = this.granted(context, spec);
    const password = generatePassword(spec.password, this.randomInt);
    const current = storedLogin(context, spec, context.current);
    await this.withLogin(server, role, current ? [current.password] : [], (client) =>
      setPassword(client, role, password),
    );
    // A plain-string secret (the samples' format: the value is the password) stays plain in single mode.
    const plain =
      typeof context.current === 'string' &&
      fieldsOf(context.current) === undefined &&
      spec.mode === 'single';
    const fields = plain
      ? { [spec.passwordField]: password }
      : { [spec.usernameField]: role, [spec.passwordField]: password };
    return { fields, credentialId: role, primaryField: spec.passwordField };
  }

  async restore(context: ProviderContext, stored: SecretValue, issued: IssuedCredential): Promise<void> {
    const spec = specOf(context);
    const login = storedLogin(context, spec, stored);
    // Only the role `issue` touched can disagree with the store; another role was never changed.
    if (!login || login.user !== issued.credentialId) return;
    const issuedPassword = issued.fields[spec.passwordField];
    const candidates = [login.password, ...(issuedPassword ? [issuedPassword] : [])];
    await this.withLogin(this.granted(context, spec).server, login.user, candidates, (client) =>
      setPassword(client, login.user, login.password),
    );
  }

  async close(): Promise<void> {}

  /** The configured server and role, or a refusal: nothing connects to what config does not allow. */
  private granted(context: ProviderContext, spec: PostgresGeneratorSpec): { server: Server; role: string } {
    const grant = grantFor(this.servers, context, spec);
    if (!grant.ok) throw new ForbiddenError(`not rotatable: ${grant.reason}`);
    return { server: connectionOf(grant.server), role: grant.role };
  }

  /** Runs `fn` as the admin, or (no admin) as `role` itself with the first password that is accepted. */
  private async withLogin(
    server: Server,
    role: string,
    passwords: readonly string[],
    fn: (client: pg.Client) => Promise<void>,
  ): Promise<void> {
    const logins: Login[] = server.admin
      ? [server.admin]
      : passwords.map((password) => ({ user: role, password }));
    if (logins.length === 0) throw new ValidationError(`no credential to log in to PostgreSQL as ${role}`);
    // Loaded on first use: most configurations never rotate a PostgreSQL role.
    const { Client } = (await import('pg')).default;
    let lastError: unknown;
    for (const login of logins) {
      const client = new Client({
        host: server.host,
        port: server.port,
        database: server.database,
        user: login.user,
        password: login.password,
        ssl: server.ssl,
        connectionTimeoutMillis: 10_000,
        statement_timeout: 10_000,
      });
      client.on('error', () => {
        // A dropped connection surfaces through the pending query; the event must not crash the process.
      });
      try {
        await client.connect();
        await fn(client);
        return;
      } catch (error) {
        lastError = error;
        if ((error as { code?: string }).code !== INVALID_PASSWORD) break;
      } finally {
        await client.end().catch(() => undefined);
      }
    }
    throw toRotorError(lastError, server, role);
  }
}

const INVALID_PASSWORD = '28P01';
/** Node's certificate verification failures (tls.connect error codes). */
const TLS_FAILURE = /^(ERR_TLS_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|HOSTNAME_MISMATCH)/;

async function setPassword(client: pg.Client, role: string, password: string): Promise<void> {
  const secret = scramSha256Verifier(password) ?? password;
  // Utility statements take no bind parameters: identifier and literal are escaped by pg.
  await client.query(
    `ALTER ROLE ${client.escapeIdentifier(role)} WITH PASSWORD ${client.escapeLiteral(secret)}`,
  );
}

function specOf(context: ProviderContext): PostgresGeneratorSpec {
  const spec = context.policy.generator;
  if (spec.kind !== 'postgres')
    throw new ValidationError(`generator ${spec.kind} is not served by the PostgreSQL provider`);
  return spec;
}

/** The login a stored value holds: its username field (or the single role) and password. */
function storedLogin(
  context: ProviderContext,
  spec: PostgresGeneratorSpec,
  value: SecretValue,
): Login | undefined {
  const fields = fieldsOf(value);
  const password = fields ? fields[spec.passwordField] : (value as string);
  const user =
    fields?.[spec.usernameField] ??
    (spec.mode === 'single' ? (spec.role ?? context.policy.credentialId) : undefined);
  return user && password ? { user, password } : undefined;
}

function connectionOf(server: PostgresServer): Server {
  const ssl =
    server.tls.mode === 'disable'
      ? (false as const)
      : {
          rejectUnauthorized: true as const,
          ...(server.tls.caFile ? { ca: readFileSync(server.tls.caFile, 'utf8') } : {}),
        };
  return {
    name: server.name,
    host: server.host,
    port: server.port,
    database: server.database,
    ssl,
    ...(server.user && server.password
      ? { admin: { user: server.user, password: server.password.reveal() } }
      : {}),
  };
}

function toRotorError(error: unknown, server: Server, role: string): RotorError {
  if (error instanceof RotorError) return error;
  const code = (error as { code?: string })?.code;
  const where = `PostgreSQL ${server.host}:${server.port}/${server.database}`;
  if (code === INVALID_PASSWORD || code === '28000') {
    return new ForbiddenError(`${where}: login refused for ${server.admin ? server.admin.user : role}`, {
      cause: error,
    });
  }
  if (code === '42501')
    return new ForbiddenError(`${where}: not allowed to change the password of role ${role}`, {
      cause: error,
    });
  if (code === '42704') return new NotFoundError(`${where}: role ${role} does not exist`, { cause: error });
  const message = (error as Error | undefined)?.message ?? '';
  if ((code && TLS_FAILURE.test(code)) || /does not support SSL/i.test(message)) {
    // Not transient: retrying will not make the certificate verify.
    return new ForbiddenError(
      `${where}: TLS could not be verified (${code ?? message}); set rotation.postgres[${server.name}].tls.caFile, ` +
        'or tls.mode: disable for a server without TLS',
      { cause: error },
    );
  }
  return new TransientError(`${where}: ${code ?? 'connection failed'}`, { cause: error });
}
