import { trimSlashes } from '../../address.js';
import type { VaultRef } from './ref.js';

/** The parts of an ESO `spec.provider.vault` block that decide what a key reads. */
export interface EsoVaultProvider {
  server: string;
  path?: string;
  version: 'v1' | 'v2';
  namespace: string;
}

export function esoVaultProvider(block: Readonly<Record<string, unknown>>): EsoVaultProvider | undefined {
  if (typeof block.server !== 'string') return undefined;
  return {
    server: block.server,
    path: typeof block.path === 'string' && block.path !== '' ? block.path : undefined,
    version: block.version === 'v1' ? 'v1' : 'v2',
    namespace: typeof block.namespace === 'string' ? trimSlashes(block.namespace) : '',
  };
}

/**
 * The Vault API path ESO reads for a key: the mount comes from the store's `path` or is
 * the key's first segment, and v2 stores insert `data` after it unless already there
 * (ESO pkg/provider/vault buildPath).
 */
export function vaultReadPath(provider: { path?: string; version: 'v1' | 'v2' }, key: string): string {
  let rest = trimSlashes(key);
  if (provider.path !== undefined) {
    const mount = trimSlashes(provider.path);
    if (rest.startsWith(`${mount}/`)) {
      rest = rest.slice(mount.length + 1);
      if (provider.version === 'v2' && rest.startsWith('data/')) rest = rest.slice('data/'.length);
    }
    return provider.version === 'v2' ? `${mount}/data/${rest}` : `${mount}/${rest}`;
  }
  if (provider.version === 'v2' && !rest.includes('/data/')) {
    const [mount, ...tail] = rest.split('/');
    return [mount, 'data', ...tail].join('/');
  }
  return rest;
}

/** The API paths a reader of the ref may name: KV v2's and KV v1's. */
export function vaultRefReadPaths(ref: VaultRef): string[] {
  return [`${ref.mount}/data/${ref.path}`, `${ref.mount}/${ref.path}`];
}

/** What ESO's find matches the ref's path against through this store, or undefined when it cannot reach it. */
export function esoFindSubject(
  provider: EsoVaultProvider,
  find: { path?: string },
  ref: VaultRef,
): string | undefined {
  if (provider.version === 'v1') return undefined;
  const mount = provider.path !== undefined ? trimSlashes(provider.path) : undefined;
  if (mount !== undefined && mount !== ref.mount) return undefined;
  const subject = mount !== undefined ? ref.path : `${ref.mount}/${ref.path}`;
  if (find.path) {
    const prefix = trimSlashes(find.path);
    if (prefix && subject !== prefix && !subject.startsWith(`${prefix}/`)) return undefined;
  }
  return subject;
}
