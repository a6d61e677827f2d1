import type { Clock } from '../../../clock.js';
import { RELOADER, ROTOR } from '../annotations.js';
import {
  type ReloadTarget,
  sortTargets,
  type TemplatePatch,
  type TemplateView,
  targetKey,
} from '../target.js';

/**
 * Reloader's `annotations` strategy: pod-template annotation `last-reloaded-from` with
 * `{type,name,namespace,hash,containerRefs,observedAt}`. Reloader rewrites it on every
 * event (observedAt changes); rotor writes only when the template does not already carry
 * this hash for this resource, remembered per resource in `rotor.dev/reloaded-hashes`
 * because `last-reloaded-from` holds only the last one. Null: nothing to write.
 */
export function annotationsPatch(
  template: TemplateView,
  targets: readonly ReloadTarget[],
  clock: Clock,
): { patch: TemplatePatch; written: ReloadTarget[] } | null {
  const annotations = template.metadata?.annotations ?? {};
  const applied = readHashes(annotations[ROTOR.reloadedHashes]);
  const last = readLast(annotations[RELOADER.lastReloadedFrom]);
  const written = sortTargets(targets).filter(
    (t) => applied[targetKey(t)] !== t.hash && !sameAsLast(last, t),
  );
  const newest = written[written.length - 1];
  if (!newest) return null;
  for (const t of written) applied[targetKey(t)] = t.hash;
  const source = {
    type: newest.type,
    name: newest.name,
    namespace: newest.namespace,
    hash: newest.hash,
    containerRefs: [newest.container],
    observedAt: Math.floor(clock.now().getTime() / 1000),
  };
  const patch = {
    metadata: {
      annotations: {
        [RELOADER.lastReloadedFrom]: JSON.stringify(source),
        [ROTOR.reloadedHashes]: JSON.stringify(applied),
      },
    },
  };
  return { patch, written };
}

/** `{"SECRET/db": "<hash>"}`; anything unreadable counts as nothing applied. */
export function readHashes(value: string | undefined): Record<string, string> {
  if (!value) return {};
  try {
    const parsed: unknown = JSON.parse(value);
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return {};
    return Object.fromEntries(
      Object.entries(parsed).filter((e): e is [string, string] => typeof e[1] === 'string'),
    );
  } catch {
    return {};
  }
}

function readLast(value: string | undefined): {
  type?: string;
  name?: string;
  namespace?: string;
  hash?: string;
} {
  if (!value) return {};
  try {
    return JSON.parse(value) as { type?: string; name?: string; namespace?: string; hash?: string };
  } catch {
    return {};
  }
}

function sameAsLast(last: ReturnType<typeof readLast>, t: ReloadTarget): boolean {
  return (
    last.type === t.type && last.name === t.name && last.namespace === t.namespace && last.hash === t.hash
  );
}
