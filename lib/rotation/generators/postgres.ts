import pg from 'pg';
import type { SecretValue } from '../../backends/backend.js';
import type { Config } from '../../config.js';
import { ForbiddenError, NotFoundError, RotorError, TransientError, ValidationError } from '../../errors.js';
import type { PostgresGeneratorSpec } from '../policy.js';
import { fieldsOf } from '../value.js';
import { generatePassword, type RandomInt, secureRandomInt } from './password.js';
import type { CredentialProvider, IssuedCredential, ProviderContext } from './provider.js';
import { scramSha256Verifier } from './scram.js';

export type PostgresAdmin = Config['rotation']['postgres'][number];

interface Server {
  host: string;
  port: number;
  database: string;
  ssl: boolean;
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
    private readonly admins: readonly PostgresAdmin[],
    private readonly randomInt: RandomInt = secureRandomInt,
  ) {}

  async issue(context: ProviderContext): Promise<IssuedCredential> {
    const spec = specOf(context);
    const role = targetRole(context, spec);
    const password = generatePassword(spec.password, this.randomInt);
    const server = this.serverOf(context, spec);
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
    await this.withLogin(this.serverOf(context, spec), login.user, candidates, (client) =>
      setPassword(client, login.user, login.password),
    );
  }

  async close(): Promise<void> {}

  /** ProviderAddress: a configured server's name, or postgresql://host:port/database (no credentials in tags). */
  private serverOf(context: ProviderContext, spec: PostgresGeneratorSpec): Server {
    const address = context.policy.providerAddress;
    if (!address)
      throw new ValidationError(
        'PostgreSQL rotation needs a ProviderAddress tag (server name or postgresql://host:port/db)',
      );
    const byName = this.admins.find((a) => a.name === address);
    if (byName) return fromAdmin(byName, byName.database);
    let url: URL;
    try {
      url = new URL(address);
    } catch {
      throw new ValidationError(
        `ProviderAddress ${address}: neither a configured PostgreSQL server nor a postgresql:// URL`,
      );
    }
    if (url.username || url.password)
      throw new ValidationError('ProviderAddress must not contain credentials');
    const host = url.hostname;
    const port = Number(url.port || 5432);
    const database = decodeURIComponent(url.pathname.replace(/^\//, '')) || 'postgres';
    const admin = this.admins.find((a) => a.host === host && a.port === port);
    if (admin) return fromAdmin(admin, database);
    if (spec.mode === 'dual') {
      throw new ValidationError(
        `dual-role rotation on ${host}:${port} needs an administrative login in rotation.postgres`,
      );
    }
    const sslmode = url.searchParams.get('sslmode');
    return { host, port, database, ssl: sslmode !== null && sslmode !== 'disable' && sslmode !== 'allow' };
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
    let lastError: unknown;
    for (const login of logins) {
      const client = new pg.Client({
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

async function setPassword(client: pg.Client, role: string, password: string): Promise<void> {
  const secret = scramSha256Verifier(password) ?? password;
  // Utility statements take no bind parameters: identifier and literal are escaped by pg.
  await client.query(`ALTER ROLE ${pg.escapeIdentifier(role)} WITH PASSWORD ${pg.escapeLiteral(secret)}`);
}

function specOf(context: ProviderContext): PostgresGeneratorSpec {
  const spec = context.policy.generator;
  if (spec.kind !== 'postgres')
    throw new ValidationError(`generator ${spec.kind} is not served by the PostgreSQL provider`);
  return spec;
}

/** The role whose password this rotation changes. */
function targetRole(context: ProviderContext, spec: PostgresGeneratorSpec): string {
  const stored = fieldsOf(context.current)?.[spec.usernameField];
  if (spec.mode === 'single') {
    const role = spec.role ?? context.policy.credentialId ?? stored;
    if (!role)
      throw new ValidationError(
        'single-role PostgreSQL rotation needs the role: CredentialId tag, "role" option or a username field',
      );
    return role;
  }
  const roles = spec.roles as [string, string];
  const active = stored ?? context.policy.credentialId;
  if (active !== undefined && !roles.includes(active)) {
    throw new ValidationError(`active role ${active} is not one of the dual roles ${roles.join(', ')}`);
  }
  return active === roles[0] ? roles[1] : roles[0];
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

function fromAdmin(admin: PostgresAdmin, database: string): Server {
  return {
    host: admin.host,
    port: admin.port,
    database,
    ssl: admin.ssl,
    admin: { user: admin.user, password: admin.password },
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
  return new TransientError(`${where}: ${code ?? 'connection failed'}`, { cause: error });
}
