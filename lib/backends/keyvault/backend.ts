import type { KeyVaultSecret, SecretClient, SecretProperties } from '@azure/keyvault-secrets';
import type { KeyVaultConfig } from '../../config.js';
import { ConflictError, InternalError, RotorError, ValidationError } from '../../errors.js';
import type { KeyVaultRef, SecretRef } from '../../secret-ref.js';
import type {
  Backend,
  BackendOperation,
  CallObserver,
  ListOptions,
  NewVersion,
  SecretSnapshot,
  SecretWithValue,
} from '../backend.js';
import { mapBackendStatus, timed } from '../errors.js';
import { MAX_KEYVAULT_TAGS } from './identity.js';

/** Key Vault allows at most 15 tags per secret version. */

/**
 * One configured Azure Key Vault. The SDK client is created on first use and cached
 * (nothing touches the network or the credential chain at construction).
 */
export class KeyVaultBackend implements Backend {
  readonly kind = 'azure-keyvault' as const;
  readonly name: string;
  readonly rotate: boolean;
  private client: SecretClient | undefined;

  constructor(
    private readonly config: KeyVaultConfig,
    private readonly createClient: (config: KeyVaultConfig) => SecretClient | Promise<SecretClient>,
    private readonly observe?: CallObserver,
  ) {
    this.name = config.name;
    this.rotate = config.rotate;
  }

  owns(ref: SecretRef): boolean {
    return ref.backend === 'azure-keyvault' && ref.vault === this.config.name;
  }

  async readMetadata(ref: SecretRef): Promise<SecretSnapshot> {
    const { value: _value, ...snapshot } = await this.readAs('read-metadata', ref);
    return snapshot;
  }

  read(ref: SecretRef, version?: string): Promise<SecretWithValue> {
    return this.readAs('read', ref, version);
  }

  async write(ref: SecretRef, next: NewVersion): Promise<{ version: string }> {
    const kvRef = this.own(ref);
    if (typeof next.value !== 'string')
      throw new ValidationError(`${describe(kvRef)}: Key Vault secrets hold one string`);
    if (next.metadata && Object.keys(next.metadata).length > MAX_KEYVAULT_TAGS) {
      throw new ValidationError(
        `${describe(kvRef)}: Key Vault allows at most ${MAX_KEYVAULT_TAGS} tags per secret`,
      );
    }
    if (next.expectedVersion !== undefined) {
      const current = await this.readMetadata(kvRef);
      if (current.version !== next.expectedVersion) {
        throw new ConflictError(`${describe(kvRef)}: current version is no longer ${next.expectedVersion}`, {
          details: { currentVersion: current.version },
        });
      }
    }
    const written = await this.call('write', kvRef, () =>
      this.sdk().setSecret(kvRef.name, next.value as string, {
        enabled: true,
        ...(next.metadata ? { tags: { ...next.metadata } } : {}),
        ...(next.contentType ? { contentType: next.contentType } : {}),
        ...(next.notBefore ? { notBefore: next.notBefore } : {}),
        ...(next.expiresOn ? { expiresOn: next.expiresOn } : {}),
      }),
    );
    return { version: written.properties.version ?? '' };
  }

  async *list(options: ListOptions = {}): AsyncIterable<SecretSnapshot[]> {
    const pages = (await this.loaded())
      .listPropertiesOfSecrets()
      .byPage({ maxPageSize: options.pageSize ?? 25 });
    while (true) {
      const page = await this.call('list', undefined, () => pages.next());
      if (page.done) return;
      yield page.value.map((properties) => this.snapshotOf(properties));
    }
  }

  async health(): Promise<void> {
    const pages = (await this.loaded()).listPropertiesOfSecrets().byPage({ maxPageSize: 1 });
    await this.call('health', undefined, () => pages.next());
  }

  async close(): Promise<void> {
    this.client = undefined;
  }

  private async readAs(
    operation: BackendOperation,
    ref: SecretRef,
    version?: string,
  ): Promise<SecretWithValue> {
    const kvRef = this.own(ref);
    const secret: KeyVaultSecret = await this.call(operation, kvRef, () =>
      this.sdk().getSecret(kvRef.name, version === undefined ? {} : { version }),
    );
    return { ...this.snapshotOf(secret.properties), value: secret.value ?? '' };
  }

  private snapshotOf(p: SecretProperties): SecretSnapshot {
    const snapshot: SecretSnapshot = {
      ref: { backend: 'azure-keyvault', vault: this.config.name, name: p.name },
      enabled: p.enabled !== false,
      metadata: { ...(p.tags ?? {}) },
    };
    if (p.version) snapshot.version = p.version;
    if (p.createdOn) snapshot.createdOn = p.createdOn;
    if (p.expiresOn) snapshot.expiresOn = p.expiresOn;
    if (p.notBefore) snapshot.notBefore = p.notBefore;
    if (p.contentType) snapshot.contentType = p.contentType;
    if (p.managed) snapshot.managed = true;
    return snapshot;
  }

  private own(ref: SecretRef): KeyVaultRef {
    if (!this.owns(ref))
      throw new ValidationError(`secret ${ref.backend} is not in Key Vault ${this.config.name}`);
    return ref as KeyVaultRef;
  }

  /** The SDK client, built (and its SDK loaded) on first use. */
  private async loaded(): Promise<SecretClient> {
    this.client ??= await this.createClient(this.config);
    return this.client;
  }

  /** Inside call(), which has loaded the client. */
  private sdk(): SecretClient {
    if (!this.client) throw new InternalError('Key Vault client used before it was loaded');
    return this.client;
  }

  private call<T>(
    operation: BackendOperation,
    ref: KeyVaultRef | undefined,
    fn: () => Promise<T>,
  ): Promise<T> {
    const what = ref ? describe(ref) : `Key Vault ${this.config.name}`;
    return timed(this.observe, { backend: this.kind, store: this.name, operation }, async () => {
      try {
        await this.loaded();
        return await fn();
      } catch (error) {
        throw toRotorError(error, what);
      }
    });
  }
}

function describe(ref: KeyVaultRef): string {
  return `secret ${ref.name} in Key Vault ${ref.vault}`;
}

function toRotorError(error: unknown, what: string): RotorError {
  if (error instanceof RotorError) return error;
  const e = error as { statusCode?: number; code?: string; message?: string };
  // The SDK's message may quote the request URL, never a value; keep only the service's error code.
  return mapBackendStatus(e.statusCode, what, e.code ?? '', error);
}
