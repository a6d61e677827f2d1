import { createHash } from 'node:crypto';
import { z } from 'zod';
import { configuredVault } from '../backends/vault/ref.js';
import type { ChangeKind } from '../change-event.js';
import type { VaultConfig } from '../config.js';
import { vaultPathProblem } from '../safe-names.js';
import { trimSlashes } from '../secret-ref.js';
import { changed, type Decoded, ignored } from './decoded.js';
import { isRecord, parseJson } from './json.js';
import { fail, ok, type ParseResult, unwrap, zodIssues } from './result.js';

/**
 * One Vault / OpenBao audit entry (audit/format.go AuditRequestEntry / AuditResponseEntry).
 * Only the fields rotor reads; string values under `data` are HMAC'd and never looked at.
 */
export const VaultAuditEntrySchema = z.object({
  time: z.string().optional(),
  type: z.string(),
  error: z.string().optional(),
  request: z
    .object({
      id: z.string().optional(),
      operation: z.string().optional(),
      path: z.string().optional(),
      mount_point: z.string().optional(),
      mount_type: z.string().optional(),
      namespace: z.object({ id: z.string().optional(), path: z.string().optional() }).optional(),
    })
    .optional(),
  response: z.object({ data: z.record(z.string(), z.unknown()).nullish() }).nullish(),
});

export type VaultAuditEntry = z.output<typeof VaultAuditEntrySchema>;

/**
 * A body as OpenBao's http audit device (one entry per POST), Fluent Bit (`json`: an array;
 * `json_lines`: NDJSON) or Vector (array or NDJSON) send it. Shippers that did not parse the
 * line wrap it as `{ "log": "<entry>" }` or `{ "message": "<entry>" }`; those are unwrapped.
 */
export function safeParseVaultAuditBody(text: string): ParseResult<VaultAuditEntry[]> {
  if (text.trim() === '') return fail('audit body is empty');
  const whole = parseJson(text);
  let items: unknown[];
  if (whole.success) {
    items = Array.isArray(whole.data) ? whole.data : [whole.data];
  } else {
    const lines = splitNdjson(text);
    if (!lines.success) return lines;
    items = lines.data;
  }
  if (items.length === 0) return fail('audit body holds no entries');
  const entries: VaultAuditEntry[] = [];
  for (const [index, item] of items.entries()) {
    const parsed = VaultAuditEntrySchema.safeParse(unwrapShipperRecord(item));
    if (!parsed.success)
      return fail(`entry ${index + 1} is not a Vault audit entry`, zodIssues(parsed.error.issues));
    entries.push(parsed.data);
  }
  return ok(entries);
}

export function parseVaultAuditBody(text: string): VaultAuditEntry[] {
  return unwrap(safeParseVaultAuditBody(text));
}

function splitNdjson(text: string): ParseResult<unknown[]> {
  const items: unknown[] = [];
  for (const [index, line] of text.split(/\r?\n/).entries()) {
    if (line.trim() === '') continue;
    const parsed = parseJson(line, `line ${index + 1}`);
    if (!parsed.success) return parsed;
    items.push(parsed.data);
  }
  return ok(items);
}

function unwrapShipperRecord(item: unknown): unknown {
  if (!isRecord(item) || 'type' in item) return item;
  const inner =
    typeof item.log === 'string' ? item.log : typeof item.message === 'string' ? item.message : undefined;
  if (inner === undefined) return item;
  const parsed = parseJson(inner);
  return parsed.success ? parsed.data : item;
}

export interface VaultAuditContext {
  vaults: readonly VaultConfig[];
  /** `?vault=` on the webhook URL: a configured server's name or address; needed when several are configured. */
  server?: string | null;
  receivedAt: Date;
}

/** Body → one Decoded per entry: changes to successful KV writes/deletes, everything else ignored with a reason. */
export function safeDecodeVaultAudit(text: string, context: VaultAuditContext): ParseResult<Decoded[]> {
  const entries = safeParseVaultAuditBody(text);
  if (!entries.success) return entries;
  const server = selectServer(context);
  if (!server.success) return server;
  const servers = server.data;
  return ok(
    entries.data.map((entry) =>
      typeof servers === 'string'
        ? ignored(entryId(entry), servers)
        : decodeEntry(entry, servers, context.receivedAt),
    ),
  );
}

/** The configured entries for the server that sent the delivery, or why there is none (a string). */
function selectServer(context: VaultAuditContext): ParseResult<VaultConfig[] | string> {
  const byAddress = (address: string) => context.vaults.filter((v) => v.address === address);
  const wanted = context.server?.trim();
  if (wanted) {
    const match = configuredVault(wanted, context.vaults);
    return ok(
      match
        ? byAddress(match.address)
        : `Vault server '${wanted.slice(0, 200)}' is not configured (vaults in the rotor config)`,
    );
  }
  const addresses = [...new Set(context.vaults.map((v) => v.address))];
  if (addresses.length === 0) return ok('no Vault/OpenBao server is configured');
  if (addresses.length > 1) {
    return fail(
      'several Vault servers are configured: add ?vault=<name> to the audit device URL to say which one sent this',
    );
  }
  return ok(byAddress(addresses[0]!));
}

/**
 * The request id; entries of requests OpenBao makes itself (dev-mode setup) have none, so
 * those get a digest of the entry, which a redelivery of the same entry reproduces.
 */
function entryId(entry: VaultAuditEntry): string {
  return (
    entry.request?.id ||
    `sha256:${createHash('sha256').update(JSON.stringify(entry)).digest('hex').slice(0, 32)}`
  );
}

const WRITES = new Set(['create', 'update', 'patch']);

function decodeEntry(entry: VaultAuditEntry, server: VaultConfig[], receivedAt: Date): Decoded {
  const id = entryId(entry);
  const request = entry.request;
  if (entry.type !== 'response')
    return ignored(
      id,
      `a '${entry.type.slice(0, 40)}' entry precedes the outcome; only responses are acted on`,
    );
  if (entry.error || typeof entry.response?.data?.error === 'string')
    return ignored(id, 'the request failed: nothing changed');
  if (!request?.path || !request.operation)
    return ignored(id, 'a response without request.path or request.operation names no secret');
  if (request.mount_type && !['kv', 'generic'].includes(request.mount_type)) {
    return ignored(id, `mount type '${request.mount_type.slice(0, 40)}' is not a KV secrets engine`);
  }
  const unsafe =
    vaultPathProblem(request.path, 'request.path') ??
    (request.namespace?.path ? vaultPathProblem(request.namespace.path, 'namespace') : undefined);
  if (unsafe) return ignored(id, `${unsafe}: not a secret rotor acts on`);
  const namespace = trimSlashes(request.namespace?.path ?? '');
  const path = trimSlashes(request.path);
  const located = locateMount(server, namespace, request.mount_point, path);
  if (!located)
    return ignored(
      id,
      `mount of '${path.slice(0, 200)}' in namespace '${namespace}' is not configured for ${server[0]!.address}`,
    );
  const change = classify(located.version, request.operation, path.slice(located.mount.length + 1));
  if ('ignore' in change) return ignored(id, change.ignore);
  const observedAt = entry.time ? new Date(entry.time) : receivedAt;
  const version = entry.response?.data?.version;
  return changed({
    id,
    ref: {
      backend: 'vault',
      address: server[0]!.address,
      namespace,
      mount: located.mount,
      path: change.path,
    },
    ...(typeof version === 'number' ? { version: String(version) } : {}),
    kind: change.kind,
    source: 'vault-audit',
    observedAt: Number.isNaN(observedAt.getTime()) ? receivedAt : observedAt,
    receivedAt,
  });
}

/**
 * The configured mount the entry is under: its own `mount_point`, else the longest configured
 * prefix of the path. Inside a namespace OpenBao writes `mount_point` namespace-prefixed
 * (`team-a/kv/`) but `path` namespace-relative (`kv/data/x`); the prefix is dropped here.
 */
function locateMount(
  server: VaultConfig[],
  namespace: string,
  rawMountPoint: string | undefined,
  path: string,
) {
  let mountPoint = rawMountPoint === undefined ? undefined : trimSlashes(rawMountPoint);
  if (mountPoint && namespace && mountPoint.startsWith(`${namespace}/`))
    mountPoint = mountPoint.slice(namespace.length + 1);
  const mounts = server
    .filter((v) => trimSlashes(v.namespace) === namespace)
    .flatMap((v) => v.mounts.map((m) => ({ mount: trimSlashes(m.path), version: m.version })))
    .filter((m) => (mountPoint ? m.mount === mountPoint : true) && path.startsWith(`${m.mount}/`))
    .sort((a, b) => b.mount.length - a.mount.length);
  return mounts[0];
}

type Classified = { kind: ChangeKind; path: string } | { ignore: string };

/**
 * KV v2 paths are `<mount>/<verb>/<secret>`: data writes and patches change the value,
 * undelete brings a version back, metadata writes change policy (custom_metadata), and
 * DELETE data / delete / destroy / DELETE metadata remove versions. KV v1 has no verbs.
 */
function classify(version: '1' | '2', operation: string, rel: string): Classified {
  if (!['create', 'update', 'patch', 'delete'].includes(operation))
    return { ignore: `'${operation.slice(0, 20)}' does not change a secret` };
  if (version === '1') {
    if (!rel) return { ignore: 'no secret path' };
    return { kind: operation === 'delete' ? 'deleted' : 'changed', path: rel };
  }
  const slash = rel.indexOf('/');
  const verb = slash < 0 ? rel : rel.slice(0, slash);
  const path = slash < 0 ? '' : trimSlashes(rel.slice(slash + 1));
  if (!path) return { ignore: `'${verb.slice(0, 40)}' names no secret` };
  const write = WRITES.has(operation);
  switch (verb) {
    case 'data':
    case 'metadata':
      return { kind: write ? 'changed' : 'deleted', path };
    case 'delete':
    case 'destroy':
      return write ? { kind: 'deleted', path } : { ignore: `${operation} on ${verb}/ is not a KV operation` };
    case 'undelete':
      return write
        ? { kind: 'changed', path }
        : { ignore: `${operation} on undelete/ is not a KV operation` };
    default:
      return { ignore: `KV v2 '${verb.slice(0, 40)}/' endpoints do not change secrets` };
  }
}
