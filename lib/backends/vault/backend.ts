import type { VaultConfig } from '../../config.js';
import { NotFoundError, ValidationError } from '../../errors.js';
import { mapLimited } from '../../limiter.js';
import { statusOf } from '../../response-status.js';
import { type SecretRef, trimSlashes, type VaultRef } from '../../secret-ref.js';
import type {
  Backend,
  BackendOperation,
  CallObserver,
  ListOptions,
  NewVersion,
  SecretSnapshot,
  SecretWithValue,
} from '../backend.js';
import { timed } from '../errors.js';
import { caOf, VaultAuth, type VaultClient, type VaultClientFactory } from './client.js';
import { refusedError, toRotorError } from './errors.js';
import { kv1, kv2, stringFields } from './paths.js';
import { servesAddress } from './ref.js';
import { TokenCheck } from './token-check.js';

type Mount = VaultConfig['mounts'][number];

/** Parallel metadata reads while listing: enough to hide latency, few enough not to throttle Vault. */
const LIST_CONCURRENCY = 8;

interface Kv2Metadata {
  current_version?: number;
  custom_metadata?: Record<string, string> | null;
  versions?: Record<string, { created_time?: string; deletion_time?: string; destroyed?: boolean }>;
}

/**
 * One configured Vault / OpenBao server. KV v2 through `<mount>/data/<path>` (with `cas`)
 * and `<mount>/metadata/<path>` (custom_metadata carries the rotation policy); KV v1 is
 * read, written and listed but has no versions or metadata, so it is never rotated.
 */
export class VaultBackend implements Backend {
  readonly kind = 'vault' as const;
  readonly name: string;
  readonly rotate: boolean;
  private readonly clients = new Map<string, Promise<VaultClient>>();
  private readonly auth: VaultAuth;
  private readonly tokens = new TokenCheck();
  private readonly namespace: string;

  constructor(
    private readonly config: VaultConfig,
    private readonly createClient: VaultClientFactory,
    private readonly observe?: CallObserver,
  ) {
    this.name = config.name;
    this.rotate = config.rotate;
    this.auth = new VaultAuth(config);
    this.namespace = trimSlashes(config.namespace);
  }

  owns(ref: SecretRef): boolean {
    if (ref.backend !== 'vault') return false;
    const addressMatches = servesAddress(this.config, ref.address);
    const ns = this.namespace;
    const namespaceMatches = ref.namespace === ns || (ns === '' ? true : ref.namespace.startsWith(`${ns}/`));
    return addressMatches && namespaceMatches;
  }

  async readMetadata(ref: SecretRef): Promise<SecretSnapshot> {
    const { vaultRef, mount } = this.own(ref);
    if (mount.version === '1') {
      const { value: _value, ...snapshot } = await this.read(vaultRef);
      return snapshot;
    }
    return this.kv2Snapshot(vaultRef, await this.kv2Metadata(vaultRef, 'read-metadata'));
  }

  async read(ref: SecretRef, version?: string): Promise<SecretWithValue> {
    const { vaultRef, mount } = this.own(ref);
    if (mount.version === '1') {
      if (version !== undefined)
        throw new ValidationError(`${describe(vaultRef)}: KV v1 has no versions to read`);
      const body = await this.call('read', vaultRef, (c) => c.read(kv1.data(vaultRef.mount, vaultRef.path)));
      return { ref: vaultRef, enabled: true, metadata: {}, value: stringFields(body?.data) };
    }
    const query = version === undefined ? '' : `?version=${encodeURIComponent(version)}`;
    // Custom metadata is read from the metadata endpoint: older servers omit it from data reads.
    const [data, metadata] = await Promise.all([
      this.call('read', vaultRef, (c) => c.read(`${kv2.data(vaultRef.mount, vaultRef.path)}${query}`)),
      this.kv2Metadata(vaultRef, 'read-metadata'),
    ]);
    const dataVersion = data?.data?.metadata?.version;
    const snapshot = this.kv2Snapshot(vaultRef, {
      ...metadata,
      current_version: dataVersion ?? metadata.current_version,
    });
    return { ...snapshot, value: stringFields(data?.data?.data) };
  }

  async write(ref: SecretRef, next: NewVersion): Promise<{ version: string }> {
    const { vaultRef, mount } = this.own(ref);
    if (typeof next.value === 'string')
      throw new ValidationError(`${describe(vaultRef)}: Vault secrets hold named fields`);
    if (mount.version === '1') {
      if (next.expectedVersion !== undefined) {
        throw new ValidationError(
          `${describe(vaultRef)}: KV v1 has no versions, so it cannot be written conditionally`,
        );
      }
      await this.call('write', vaultRef, (c) => c.write(kv1.data(vaultRef.mount, vaultRef.path), next.value));
      return { version: '' };
    }
    const body: { data: unknown; options?: { cas: number } } = { data: next.value };
    if (next.expectedVersion !== undefined) body.options = { cas: Number(next.expectedVersion) };
    const written = await this.call('write', vaultRef, (c) =>
      c.write(kv2.data(vaultRef.mount, vaultRef.path), body),
    );
    if (next.metadata && Object.keys(next.metadata).length > 0)
      await this.mergeCustomMetadata(vaultRef, next.metadata);
    return { version: String(written?.data?.version ?? '') };
  }

  async *list(options: ListOptions = {}): AsyncIterable<SecretSnapshot[]> {
    const pageSize = options.pageSize ?? 100;
    for (const mount of this.config.mounts) {
      for await (const paths of this.listPaths(mount, pageSize)) {
        const refs = paths.map((path) => this.refOf(mount.path, path));
        if (mount.version === '1') {
          yield refs.map((ref) => ({ ref, enabled: true, metadata: {} }));
          continue;
        }
        const snapshots = await mapLimited(refs, LIST_CONCURRENCY, (ref) =>
          this.kv2Metadata(ref, 'list').then(
            (m) => this.kv2Snapshot(ref, m),
            (error) => (error instanceof NotFoundError ? undefined : Promise.reject(error)),
          ),
        );
        yield snapshots.filter((s): s is SecretSnapshot => s !== undefined);
      }
    }
  }

  async health(): Promise<void> {
    const mount = this.config.mounts[0];
    const ref = this.refOf(mount?.path ?? 'secret', '');
    const status = await this.call('health', ref, (c) => c.health({ standbyok: true }));
    if (status?.sealed) throw toRotorError({ response: { statusCode: 503 } }, `Vault ${this.name} (sealed)`);
    // Proves the credentials too: a LIST on the first mount (404 = empty mount, fine).
    if (mount) await this.listOnce(mount, '', undefined, 1, 'health');
  }

  async close(): Promise<void> {
    for (const client of this.clients.values()) (await client.catch(() => undefined))?.stopAllRenewals();
    this.clients.clear();
  }

  private async *listPaths(mount: Mount, pageSize: number): AsyncIterable<string[]> {
    const folders = [''];
    while (folders.length > 0) {
      const prefix = folders.pop() as string;
      let after: string | undefined;
      while (true) {
        const keys = await this.listOnce(mount, prefix, after, pageSize, 'list');
        const fresh = after === undefined ? keys : keys.filter((k) => k > after!);
        const full = (k: string) => (prefix ? `${prefix}/${k}` : k);
        for (const k of fresh) if (k.endsWith('/')) folders.push(full(k.slice(0, -1)));
        const leaves = fresh.filter((k) => !k.endsWith('/')).map(full);
        if (leaves.length > 0) yield leaves;
        // OpenBao pages with after/limit; Vault ignores both and returns everything at once.
        if (keys.length < pageSize || keys.length > pageSize || fresh.length === 0) break;
        after = keys[keys.length - 1];
      }
    }
  }

  private async listOnce(
    mount: Mount,
    prefix: string,
    after: string | undefined,
    limit: number,
    operation: BackendOperation,
  ): Promise<string[]> {
    const base = mount.version === '1' ? kv1.list(mount.path, prefix) : kv2.list(mount.path, prefix);
    const query = `?limit=${limit}${after === undefined ? '' : `&after=${encodeURIComponent(after)}`}`;
    const ref = this.refOf(mount.path, prefix || '/');
    try {
      const body = await this.call(operation, ref, (c) => c.list(`${base}${query}`));
      const keys = body?.data?.keys;
      return Array.isArray(keys) ? keys.map(String) : [];
    } catch (error) {
      if (error instanceof NotFoundError) return [];
      throw error;
    }
  }

  private async kv2Metadata(ref: VaultRef, operation: BackendOperation): Promise<Kv2Metadata> {
    const body = await this.call(operation, ref, (c) => c.read(kv2.metadata(ref.mount, ref.path)));
    return (body?.data ?? {}) as Kv2Metadata;
  }

  private kv2Snapshot(ref: VaultRef, metadata: Kv2Metadata): SecretSnapshot {
    const version = metadata.current_version;
    const info = version === undefined ? undefined : metadata.versions?.[String(version)];
    const snapshot: SecretSnapshot = {
      ref,
      enabled: Boolean(info) && !info?.destroyed && !info?.deletion_time,
      metadata: { ...(metadata.custom_metadata ?? {}) },
    };
    if (version !== undefined && version > 0) snapshot.version = String(version);
    if (info?.created_time) snapshot.createdOn = new Date(info.created_time);
    return snapshot;
  }

  private async mergeCustomMetadata(ref: VaultRef, extra: Readonly<Record<string, string>>): Promise<void> {
    const current = await this.kv2Metadata(ref, 'read-metadata');
    const custom = { ...(current.custom_metadata ?? {}), ...extra };
    await this.call('write', ref, (c) =>
      c.write(kv2.metadata(ref.mount, ref.path), { custom_metadata: custom }),
    );
  }

  private own(ref: SecretRef): { vaultRef: VaultRef; mount: Mount } {
    if (!this.owns(ref))
      throw new ValidationError(`secret is not in Vault ${this.name} (${this.config.address})`);
    const vaultRef = ref as VaultRef;
    const mount = this.config.mounts.find((m) => trimSlashes(m.path) === vaultRef.mount);
    if (!mount) {
      throw new NotFoundError(
        `${describe(vaultRef)}: mount ${vaultRef.mount} is not configured for Vault ${this.name}`,
      );
    }
    return { vaultRef, mount };
  }

  private refOf(mount: string, path: string): VaultRef {
    return {
      backend: 'vault',
      address: this.config.address,
      namespace: this.namespace,
      mount: trimSlashes(mount),
      path,
    };
  }

  private client(namespace: string): Promise<VaultClient> {
    let client = this.clients.get(namespace);
    if (!client) {
      const ca = caOf(this.config);
      client = Promise.resolve(
        this.createClient({ endpoint: this.config.address, namespace, ...(ca ? { ca } : {}) }),
      );
      client.catch(() => this.clients.delete(namespace));
      this.clients.set(namespace, client);
    }
    return client;
  }

  private call<T>(
    operation: BackendOperation,
    ref: VaultRef,
    fn: (client: VaultClient) => Promise<T>,
  ): Promise<T> {
    const what = describe(ref);
    return timed(this.observe, { backend: this.kind, store: this.name, operation }, async () => {
      let client: VaultClient | undefined;
      try {
        client = await this.client(ref.namespace);
        await this.auth.authenticate(client);
        try {
          return await fn(client);
        } catch (error) {
          // An AppRole token may have expired: log in again once.
          if (statusOf(error) !== 403 || !this.auth.invalidate(client)) throw error;
          await this.auth.authenticate(client);
          return await fn(client);
        }
      } catch (error) {
        if (statusOf(error) !== 403 || !client?.token) throw toRotorError(error, what);
        throw refusedError(error, what, await this.tokens.explain(client), this.config);
      }
    });
  }
}

function describe(ref: VaultRef): string {
  const ns = ref.namespace ? `${ref.namespace}/` : '';
  return `secret ${ns}${ref.mount}/${ref.path} in Vault ${ref.address}`;
}
