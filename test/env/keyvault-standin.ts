import { randomBytes } from 'node:crypto';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { issueServerTls } from './test-ca.js';

/**
 * STAND-IN for Azure Key Vault (secrets), used because Lowkey Vault's application jar is
 * not served by the Maven registry reachable here (see test/env/README.md).
 *
 * It is a real HTTPS server speaking the Key Vault secrets REST API the way
 * `@azure/keyvault-secrets` uses it, so rotor's Key Vault backend runs unmodified against
 * it: challenge authentication (401 + WWW-Authenticate, any bearer token accepted),
 * versions with 32-hex ids, tags, contentType, enabled/nbf/exp attributes, soft delete
 * (Recoverable+Purgeable) with recover and purge, paged lists (maxresults + nextLink),
 * case-insensitive names, and Key Vault's error bodies and status codes. Backup/restore
 * and keys/certificates are not implemented (501).
 */
export interface KeyVaultStandin {
  /** https://127.0.0.1:<port> */
  vaultUrl: string;
  vaultName: string;
  /** The only CA that signed the server certificate; clients trust this and nothing else. */
  caPem: string;
  stop(): Promise<void>;
}

interface Version {
  version: string;
  value: string;
  contentType?: string;
  tags?: Record<string, string>;
  enabled: boolean;
  nbf?: number;
  exp?: number;
  created: number;
  updated: number;
}

interface Secret {
  name: string;
  versions: Version[];
  deleted?: { deletedDate: number; scheduledPurgeDate: number };
}

class KvError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly inner?: string,
  ) {
    super(message);
  }
}

const TENANT = '00000000-0000-0000-0000-00000000f00d';
const CHALLENGE = `Bearer authorization="https://login.microsoftonline.com/${TENANT}", resource="https://vault.azure.net"`;
const RECOVERABLE_DAYS = 90;
const NAME = /^[0-9a-zA-Z-]{1,127}$/;
const PAGE_MAX = 25;
/** Azure's idle timeout of a connection (4 minutes). */
const IDLE_CONNECTION_MS = 240_000;

export async function startKeyVaultStandin(opts: { vaultName: string }): Promise<KeyVaultStandin> {
  const tls = await issueServerTls(
    { ips: ['127.0.0.1'], dns: ['localhost'] },
    `${opts.vaultName} key vault stand-in`,
  );
  const secrets = new Map<string, Secret>();
  let base = '';

  const server = https.createServer({ key: tls.keyPem, cert: tls.certPem }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const send = (status: number, body?: unknown, headers: Record<string, string> = {}) => {
        const text = body === undefined ? '' : JSON.stringify(body);
        res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers }).end(text);
      };
      if (!/^Bearer \S+/.test(req.headers.authorization ?? '')) {
        return send(
          401,
          { error: { code: 'Unauthorized', message: 'AKV10000: Request is missing a Bearer or PoP token.' } },
          {
            'www-authenticate': CHALLENGE,
          },
        );
      }
      try {
        const url = new URL(req.url ?? '/', base);
        const [status, body] = route(req.method ?? 'GET', url, Buffer.concat(chunks).toString('utf8'));
        send(status, body);
      } catch (err) {
        const e = err instanceof KvError ? err : new KvError(500, 'InternalError', (err as Error).message);
        send(e.status, {
          error: { code: e.code, message: e.message, ...(e.inner ? { innererror: { code: e.inner } } : {}) },
        });
      }
    });
  });

  function route(method: string, url: URL, text: string): [number, unknown] {
    const parts = url.pathname.split('/').slice(1).map(decodeURIComponent);
    const [collection, name, third, fourth] = parts;
    if (
      collection === 'secrets' &&
      name !== undefined &&
      name !== '' &&
      third !== 'versions' &&
      third !== 'backup'
    ) {
      if (method === 'PUT' && parts.length === 2) return [200, setSecret(name, parseBody(text))];
      if (method === 'GET' && parts.length <= 3) return [200, bundle(live(name), third, true)];
      if (method === 'PATCH' && parts.length <= 3) return [200, updateSecret(name, third, parseBody(text))];
      if (method === 'DELETE' && parts.length === 2) return [200, deleteSecret(name)];
    }
    if (collection === 'secrets' && method === 'GET') {
      if (parts.length === 1 || (parts.length === 2 && name === '')) return [200, page(url, listSecrets())];
      if (third === 'versions' && name) return [200, page(url, listVersions(live(name)))];
    }
    if (collection === 'deletedsecrets') {
      if (method === 'GET' && (parts.length === 1 || name === '')) return [200, page(url, listDeleted())];
      if (name && method === 'GET' && parts.length === 2) return [200, deletedBundle(gone(name))];
      if (name && method === 'DELETE' && parts.length === 2) return [204, purge(name)];
      if (name && method === 'POST' && third === 'recover' && fourth === undefined)
        return [200, recover(name)];
    }
    throw new KvError(
      501,
      'NotImplemented',
      `${method} ${url.pathname} is not implemented by the Key Vault stand-in`,
    );
  }

  function setSecret(name: string, body: Record<string, unknown>): unknown {
    if (!NAME.test(name)) throw badParameter(`The request URI contains an invalid name: ${name}`);
    if (typeof body.value !== 'string')
      throw badParameter("Property 'value' is required and must be a string.");
    const existing = secrets.get(name.toLowerCase());
    if (existing?.deleted) {
      throw new KvError(
        409,
        'Conflict',
        `Secret ${name} is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the secret can only be recovered or purged.`,
        'ObjectIsDeletedButRecoverable',
      );
    }
    const now = epoch();
    const attrs = (body.attributes ?? {}) as { enabled?: boolean; nbf?: number; exp?: number };
    const v: Version = {
      version: randomBytes(16).toString('hex'),
      value: body.value,
      contentType: typeof body.contentType === 'string' ? body.contentType : undefined,
      tags: stringTags(body.tags),
      enabled: attrs.enabled ?? true,
      nbf: attrs.nbf ?? undefined,
      exp: attrs.exp ?? undefined,
      created: now,
      updated: now,
    };
    const secret = existing ?? { name, versions: [] };
    secret.versions.push(v);
    secrets.set(name.toLowerCase(), secret);
    return versionBundle(secret, v, true);
  }

  function updateSecret(name: string, version: string | undefined, body: Record<string, unknown>): unknown {
    const secret = live(name);
    const v = findVersion(secret, version);
    const attrs = (body.attributes ?? {}) as { enabled?: boolean; nbf?: number | null; exp?: number | null };
    if (typeof body.contentType === 'string') v.contentType = body.contentType;
    if (body.tags !== undefined) v.tags = stringTags(body.tags);
    if (attrs.enabled !== undefined) v.enabled = attrs.enabled;
    if (attrs.nbf !== undefined) v.nbf = attrs.nbf ?? undefined;
    if (attrs.exp !== undefined) v.exp = attrs.exp ?? undefined;
    v.updated = epoch();
    return versionBundle(secret, v, false);
  }

  function deleteSecret(name: string): unknown {
    const secret = live(name);
    const now = epoch();
    secret.deleted = { deletedDate: now, scheduledPurgeDate: now + RECOVERABLE_DAYS * 86_400 };
    return deletedBundle(secret);
  }

  function recover(name: string): unknown {
    const secret = gone(name);
    secret.deleted = undefined;
    return bundle(secret, undefined, false);
  }

  function purge(name: string): undefined {
    gone(name);
    secrets.delete(name.toLowerCase());
    return undefined;
  }

  function live(name: string): Secret {
    const secret = secrets.get(name.toLowerCase());
    if (!secret || secret.deleted) {
      throw new KvError(
        404,
        'SecretNotFound',
        `A secret with (name/id) ${name} was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182`,
      );
    }
    return secret;
  }

  function gone(name: string): Secret {
    const secret = secrets.get(name.toLowerCase());
    if (!secret?.deleted) throw new KvError(404, 'SecretNotFound', `Deleted Secret not found: ${name}`);
    return secret;
  }

  function findVersion(secret: Secret, version: string | undefined): Version {
    const v = version ? secret.versions.find((x) => x.version === version) : secret.versions.at(-1);
    if (!v) {
      throw new KvError(
        404,
        'SecretNotFound',
        `A secret with (name/id) ${secret.name}/${version} was not found in this key vault. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182`,
      );
    }
    return v;
  }

  function bundle(secret: Secret, version: string | undefined, withValue: boolean): unknown {
    const v = findVersion(secret, version);
    if (withValue && !v.enabled) {
      throw new KvError(
        403,
        'Forbidden',
        'Operation get is not allowed on a disabled secret.',
        'SecretDisabled',
      );
    }
    return versionBundle(secret, v, withValue);
  }

  function versionBundle(secret: Secret, v: Version, withValue: boolean): Record<string, unknown> {
    return {
      ...(withValue ? { value: v.value } : {}),
      id: `${base}/secrets/${secret.name}/${v.version}`,
      ...(v.contentType !== undefined ? { contentType: v.contentType } : {}),
      attributes: attributes(v),
      ...(v.tags ? { tags: v.tags } : {}),
    };
  }

  function deletedBundle(secret: Secret): unknown {
    return {
      ...versionBundle(secret, findVersion(secret, undefined), false),
      recoveryId: `${base}/deletedsecrets/${secret.name}`,
      deletedDate: secret.deleted?.deletedDate,
      scheduledPurgeDate: secret.deleted?.scheduledPurgeDate,
    };
  }

  function item(secret: Secret, v: Version, withVersion: boolean): Record<string, unknown> {
    return {
      id: withVersion ? `${base}/secrets/${secret.name}/${v.version}` : `${base}/secrets/${secret.name}`,
      attributes: attributes(v),
      ...(v.contentType !== undefined ? { contentType: v.contentType } : {}),
      ...(v.tags ? { tags: v.tags } : {}),
    };
  }

  const listSecrets = () =>
    [...secrets.values()].filter((s) => !s.deleted).map((s) => item(s, s.versions.at(-1) as Version, false));
  const listVersions = (s: Secret) => s.versions.map((v) => item(s, v, true));
  const listDeleted = () =>
    [...secrets.values()]
      .filter((s) => s.deleted)
      .map((s) => ({
        ...item(s, s.versions.at(-1) as Version, false),
        recoveryId: `${base}/deletedsecrets/${s.name}`,
        deletedDate: s.deleted?.deletedDate,
        scheduledPurgeDate: s.deleted?.scheduledPurgeDate,
      }));

  // Key Vault's front end keeps an idle connection for minutes, longer than any client's
  // idle timeout (Go's 90 s), so clients never race its close. Node's default (5 s) closed
  // sockets the clients' agents were about to reuse: under load the request went out on a
  // closed connection and failed with `read ECONNRESET`.
  server.keepAliveTimeout = IDLE_CONNECTION_MS;
  server.headersTimeout = IDLE_CONNECTION_MS + 1_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    vaultUrl: base,
    vaultName: opts.vaultName,
    caPem: tls.caPem,
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function attributes(v: Version): Record<string, unknown> {
  return {
    enabled: v.enabled,
    ...(v.nbf !== undefined ? { nbf: v.nbf } : {}),
    ...(v.exp !== undefined ? { exp: v.exp } : {}),
    created: v.created,
    updated: v.updated,
    recoveryLevel: 'Recoverable+Purgeable',
    recoverableDays: RECOVERABLE_DAYS,
  };
}

/** One page of a list, with Key Vault's nextLink (absolute URL) when more remain. */
function page(url: URL, all: unknown[]): unknown {
  const max = Math.min(Math.max(Number(url.searchParams.get('maxresults')) || PAGE_MAX, 1), PAGE_MAX);
  const skip = Number(url.searchParams.get('$skiptoken') ?? 0) || 0;
  const value = all.slice(skip, skip + max);
  let nextLink: string | null = null;
  if (skip + max < all.length) {
    const next = new URL(url);
    next.searchParams.set('$skiptoken', String(skip + max));
    next.searchParams.set('maxresults', String(max));
    nextLink = next.toString();
  }
  return { value, nextLink };
}

function parseBody(text: string): Record<string, unknown> {
  try {
    const parsed = JSON.parse(text) as unknown;
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed))
      return parsed as Record<string, unknown>;
  } catch {
    // fall through
  }
  throw badParameter('The request body must be a JSON object.');
}

function stringTags(tags: unknown): Record<string, string> | undefined {
  if (tags === undefined || tags === null) return undefined;
  if (typeof tags !== 'object' || Object.values(tags).some((t) => typeof t !== 'string')) {
    throw badParameter('Tags must be an object of strings.');
  }
  return { ...(tags as Record<string, string>) };
}

function badParameter(message: string): KvError {
  return new KvError(400, 'BadParameter', message);
}

function epoch(): number {
  return Math.floor(Date.now() / 1000);
}
