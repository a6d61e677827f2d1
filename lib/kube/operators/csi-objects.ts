import { parse as parseYaml } from 'yaml';
import type { SecretRef } from '../../secret-ref.js';
import { trimSlashes } from '../../secret-ref.js';
import type { PodSpecLike } from '../restart/references.js';
import type { BackendMatcher } from './address.js';
import { vaultRefReadPaths } from './eso-match.js';

/**
 * Pure Secrets Store CSI rules. `parameters.objects` is a YAML string: the Azure provider
 * wants `array:` of YAML strings (one object each); the Vault provider a YAML list.
 */
export type CsiObject = Record<string, unknown>;

function asRecord(item: unknown): CsiObject | undefined {
  if (typeof item === 'string') return asRecord(parseYaml(item));
  return item && typeof item === 'object' && !Array.isArray(item) ? (item as CsiObject) : undefined;
}

/** The objects of a SecretProviderClass; throws when the YAML is not one of the two shapes. */
export function parseCsiObjects(objects: string | undefined): CsiObject[] {
  if (!objects?.trim()) return [];
  const doc = parseYaml(objects) as unknown;
  const list = Array.isArray(doc) ? doc : (doc as { array?: unknown } | null)?.array;
  if (!Array.isArray(list))
    throw new Error('parameters.objects is neither a YAML list nor an `array:` of objects');
  return list.map(asRecord).filter((o): o is CsiObject => o !== undefined);
}

export interface CsiSelection {
  selected: boolean;
  warnings: string[];
}

function text(v: unknown): string {
  return typeof v === 'string' ? v : v === undefined || v === null ? '' : String(v);
}

export function spcSelects(
  provider: string,
  parameters: Record<string, string | undefined>,
  ref: SecretRef,
  matcher: BackendMatcher,
): CsiSelection {
  const warnings: string[] = [];
  let objects: CsiObject[];
  try {
    objects = parseCsiObjects(parameters.objects);
  } catch (error) {
    return { selected: false, warnings: [(error as Error).message] };
  }
  if (provider === 'azure' && ref.backend === 'azure-keyvault') {
    if (!matcher.keyVaultName(parameters.keyvaultName ?? '')) return { selected: false, warnings };
    const hits = objects.filter(
      (o) =>
        text(o.objectName).toLowerCase() === ref.name.toLowerCase() &&
        (text(o.objectType) || 'secret') === 'secret',
    );
    for (const o of hits) {
      if (text(o.objectVersion))
        warnings.push(
          `object ${text(o.objectName)} is pinned to version ${text(o.objectVersion)}: a restart keeps that version`,
        );
    }
    return { selected: hits.length > 0, warnings };
  }
  if (provider === 'vault' && ref.backend === 'vault') {
    const address = parameters.vaultAddress;
    if (address) {
      if (!matcher.vaultServer(address)) return { selected: false, warnings };
    } else
      warnings.push("no parameters.vaultAddress: assumed to be the CSI Vault provider's default address");
    if (trimSlashes(parameters.vaultNamespace ?? '') !== ref.namespace) return { selected: false, warnings };
    const paths = vaultRefReadPaths(ref);
    const selected = objects.some((o) => paths.includes(trimSlashes(text(o.secretPath).split('?')[0] ?? '')));
    return { selected, warnings };
  }
  return { selected: false, warnings };
}

export const CSI_DRIVER = 'secrets-store.csi.k8s.io';

/** A pod spec mounts the class through a CSI volume of the Secrets Store driver. */
export function podSpecMounts(spec: PodSpecLike | null | undefined, className: string): boolean {
  return (spec?.volumes ?? []).some(
    (v) => v.csi?.driver === CSI_DRIVER && v.csi?.volumeAttributes?.secretProviderClass === className,
  );
}
