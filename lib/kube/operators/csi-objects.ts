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

/**
 * Parsed `parameters.objects`, by their text: every event's resolve reads every class in
 * the cluster, and parsing their YAML again each time was most of a resolve's CPU. Read
 * only by the matchers; a few classes' worth of texts, emptied when it grows past that.
 */
const parsed = new Map<string, { objects: readonly CsiObject[] } | { error: unknown }>();
const PARSED_LIMIT = 2_000;

/** The objects of a SecretProviderClass; throws when the YAML is not one of the two shapes. */
export function parseCsiObjects(objects: string | undefined): readonly CsiObject[] {
  if (!objects?.trim()) return [];
  let known = parsed.get(objects);
  if (!known) {
    try {
      known = { objects: parseUncached(objects) };
    } catch (error) {
      known = { error };
    }
    if (parsed.size >= PARSED_LIMIT) parsed.clear();
    parsed.set(objects, known);
  }
  if ('error' in known) throw known.error;
  return known.objects;
}

function parseUncached(objects: string): readonly CsiObject[] {
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
  let objects: readonly CsiObject[];
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
