import type { SecretRef } from '../secret-ref.js';

/**
 * A secret store behind one small interface, as External Secrets Operator shapes its
 * providers: the engine and the pipeline never import an SDK, they ask the registry for
 * the Backend that owns a ref. Every backend maps its own "not found", "forbidden",
 * "conflict" and "transient" to the shared errors in lib/errors.ts at this boundary.
 */

/** A KV v2 / Vault secret holds named fields; a Key Vault secret holds one string. */
export type SecretValue = string | Readonly<Record<string, string>>;

/** What is known about the current version without its value. */
export interface SecretSnapshot {
  ref: SecretRef;
  /** Key Vault version id, KV v2 version number; undefined where the store has no versions (KV v1) or a list omits it. */
  version?: string;
  /** When the current version was written: the last rotation, whoever did it. */
  createdOn?: Date;
  expiresOn?: Date;
  notBefore?: Date;
  enabled: boolean;
  contentType?: string;
  /** Policy-carrying metadata: Key Vault tags of the current version, KV v2 custom_metadata. */
  metadata: Readonly<Record<string, string>>;
  /** Key Vault secrets backing certificates are managed by Key Vault itself: never written by rotor. */
  managed?: boolean;
}

export interface SecretWithValue extends SecretSnapshot {
  value: SecretValue;
}

export interface NewVersion {
  value: SecretValue;
  /**
   * Write only if the current version is still this one. Vault KV v2: the `cas` option,
   * atomic on the server. Key Vault has no conditional write: the backend compares before
   * writing, and the engine's lease closes the remaining window.
   */
  expectedVersion?: string;
  contentType?: string;
  notBefore?: Date;
  expiresOn?: Date;
  /** Key Vault: the new version's full tag set. KV v2: keys merged into custom_metadata. */
  metadata?: Readonly<Record<string, string>>;
}

export interface ListOptions {
  pageSize?: number;
}

export interface Backend {
  readonly kind: SecretRef['backend'];
  /** The configured store's name (Key Vault name, Vault config name). */
  readonly name: string;
  /** Whether configuration lets rotor write new versions here. */
  readonly rotate: boolean;
  /** True when `ref` lives in this configured store. */
  owns(ref: SecretRef): boolean;
  readMetadata(ref: SecretRef): Promise<SecretSnapshot>;
  /** The current version, or the version named (an undo restores a version it knows by id only). */
  read(ref: SecretRef, version?: string): Promise<SecretWithValue>;
  write(ref: SecretRef, next: NewVersion): Promise<{ version: string }>;
  /** Every secret of the store (every configured mount), a page at a time, with its metadata. */
  list(options?: ListOptions): AsyncIterable<SecretSnapshot[]>;
  /** Resolves when the store answers with rotor's credentials; throws a RotorError otherwise. */
  health(): Promise<void>;
  close(): Promise<void>;
}

/** Named operations, for counting and timing every backend call. */
export type BackendOperation = 'read' | 'read-metadata' | 'write' | 'list' | 'health';

/** Observer of every backend call (telemetry plugs in here; nothing is logged by default). */
export type CallObserver = (call: {
  backend: SecretRef['backend'];
  store: string;
  operation: BackendOperation;
  ms: number;
  ok: boolean;
  errorCode?: string;
}) => void;
