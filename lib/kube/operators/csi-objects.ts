import { parse as parseYaml } from 'yaml';
import type { CsiObject, CsiSelection, RefMatcher } from '../../backends/identities.js';
import { ValidationError } from '../../errors.js';
import type { PodSpecLike } from '../restart/references.js';

/**
 * Pure Secrets Store CSI rules. `parameters.objects` is a YAML string: the Azure provider
 * wants `array:` of YAML strings (one object each); the Vault provider a YAML list.
 */
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
    throw new ValidationError('parameters.objects is neither a YAML list nor an `array:` of objects');
  return list.map(asRecord).filter((o): o is CsiObject => o !== undefined);
}

/** The class reads the ref: its provider is the ref's backend's, and that backend's rules select it. */
export function spcSelects(
  provider: string,
  parameters: Record<string, string | undefined>,
  matcher: RefMatcher,
): CsiSelection {
  if (provider !== matcher.csi.provider) return { selected: false, warnings: [] };
  let objects: CsiObject[];
  try {
    objects = parseCsiObjects(parameters.objects);
  } catch (error) {
    return { selected: false, warnings: [(error as Error).message] };
  }
  return matcher.csi.selects(parameters, objects);
}

const CSI_DRIVER = 'secrets-store.csi.k8s.io';

/** A pod spec mounts the class through a CSI volume of the Secrets Store driver. */
export function podSpecMounts(spec: PodSpecLike | null | undefined, className: string): boolean {
  return (spec?.volumes ?? []).some(
    (v) => v.csi?.driver === CSI_DRIVER && v.csi?.volumeAttributes?.secretProviderClass === className,
  );
}
