import type { BackendIdentity, CsiObject, RefMatcher } from '../identity.js';
import { text } from '../identity.js';
import { isKeyVaultUrl, type KeyVaultRef } from './ref.js';

/** Key Vault allows 15 tags per secret version. */
export const MAX_KEYVAULT_TAGS = 15;

/** Azure Key Vault as ESO (`azurekv`) and the CSI Azure provider (`azure`) name it. */
export const keyVaultIdentity: BackendIdentity<KeyVaultRef> = {
  kind: 'azure-keyvault',
  matcher(ref, options): RefMatcher {
    const configured = (options.keyVaultConfigs ?? []).filter((k) => k.name === ref.vault && k.url);
    const identities = configured.length > 0 ? configured : [{ name: ref.vault }];
    const address = (url: string) => identities.some((kv) => isKeyVaultUrl(kv, url, options.aliases));
    const sameName = (name: string) => name.toLowerCase() === ref.name.toLowerCase();
    return {
      address,
      eso: {
        provider: 'azurekv',
        holds: (block) => typeof block.vaultUrl === 'string' && address(block.vaultUrl),
        // `secret/<name>`, or a bare name (ESO's default object type is secret).
        keySelects: (_block, key) => {
          const trimmed = key.trim();
          const [kind, name] = trimmed.includes('/') ? trimmed.split('/', 2) : ['secret', trimmed];
          return kind === 'secret' && sameName(name ?? '');
        },
        findSubject: () => ref.name,
      },
      csi: {
        provider: 'azure',
        selects(parameters, objects: readonly CsiObject[]) {
          const warnings: string[] = [];
          if ((parameters.keyvaultName ?? '').trim().toLowerCase() !== ref.vault)
            return { selected: false, warnings };
          const hits = objects.filter(
            (o) => sameName(text(o.objectName)) && (text(o.objectType) || 'secret') === 'secret',
          );
          for (const o of hits) {
            if (text(o.objectVersion))
              warnings.push(
                `object ${text(o.objectName)} is pinned to version ${text(o.objectVersion)}: a restart keeps that version`,
              );
          }
          return { selected: hits.length > 0, warnings };
        },
      },
    };
  },
  nextMetadata(current, own, droppable) {
    const tags = { ...current, ...own };
    if (Object.keys(tags).length > MAX_KEYVAULT_TAGS) delete tags[droppable];
    return tags;
  },
};
