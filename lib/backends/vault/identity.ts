import { normaliseAddress, trimSlashes } from '../../address.js';
import type { BackendIdentity, RefMatcher } from '../identity.js';
import { text } from '../identity.js';
import { esoFindSubject, esoVaultProvider, vaultReadPath, vaultRefReadPaths } from './eso-paths.js';
import { type VaultRef, vaultSpellings } from './ref.js';

/** HashiCorp Vault / OpenBao as ESO (`vault`), the CSI Vault provider (`vault`) and VSO name it. */
export const vaultIdentity: BackendIdentity<VaultRef> = {
  kind: 'vault',
  matcher(ref, options): RefMatcher {
    const spellings = vaultSpellings(ref.address, options.vaultConfigs ?? [], options.aliases);
    const address = (a: string) => spellings.has(normaliseAddress(a));
    const inNamespace = (namespace: string) => trimSlashes(namespace) === ref.namespace;
    return {
      address,
      eso: {
        provider: 'vault',
        holds(block) {
          const p = esoVaultProvider(block);
          return p !== undefined && address(p.server) && p.namespace === ref.namespace;
        },
        keySelects(block, key) {
          const p = esoVaultProvider(block);
          if (!p) return false;
          const wanted = p.version === 'v2' ? `${ref.mount}/data/${ref.path}` : `${ref.mount}/${ref.path}`;
          return vaultReadPath(p, key) === wanted;
        },
        findSubject(block, find) {
          const p = esoVaultProvider(block);
          return p && esoFindSubject(p, find, ref);
        },
      },
      csi: {
        provider: 'vault',
        selects(parameters, objects) {
          const warnings: string[] = [];
          const server = parameters.vaultAddress;
          if (server) {
            if (!address(server)) return { selected: false, warnings };
          } else
            warnings.push(
              "no parameters.vaultAddress: assumed to be the CSI Vault provider's default address",
            );
          if (!inNamespace(parameters.vaultNamespace ?? '')) return { selected: false, warnings };
          const paths = vaultRefReadPaths(ref);
          const selected = objects.some((o) =>
            paths.includes(trimSlashes(text(o.secretPath).split('?')[0] ?? '')),
          );
          return { selected, warnings };
        },
      },
      vso: {
        reads: (mount, path) => trimSlashes(mount) === ref.mount && trimSlashes(path) === ref.path,
        inNamespace,
      },
    };
  },
  nextMetadata: (_current, own) => ({ ...own }),
};
