import type { ResourceType } from './annotations.js';
import type { ContainerLike, PodSpecLike } from './references.js';

/** One resource a workload must be restarted for, with the container that carries it. */
export interface ReloadTarget {
  type: ResourceType;
  name: string;
  namespace: string;
  hash: string;
  container: string;
}

/** The pod template as strategies see it (a Deployment's spec.template, a CronJob's jobTemplate.spec.template). */
export interface TemplateView {
  metadata?: { annotations?: Record<string, string> | null; labels?: Record<string, string> | null } | null;
  spec?: PodSpecLike | null;
}

/**
 * A strategic-merge fragment for a pod template: annotations merged by key, containers
 * by name, env entries by name. Built as an object, serialised once by the client.
 */
export interface TemplatePatch {
  metadata?: { annotations: Record<string, string> };
  spec?: { containers: Array<{ name: string; env: Array<{ name: string; value: string }> }> };
}

export function targetKey(t: Pick<ReloadTarget, 'type' | 'name'>): string {
  return `${t.type}/${t.name}`;
}

/** Stable order so the same set of changes always produces the same patch. */
export function sortTargets(targets: readonly ReloadTarget[]): ReloadTarget[] {
  return [...targets].sort((a, b) =>
    targetKey(a) < targetKey(b) ? -1 : targetKey(a) > targetKey(b) ? 1 : 0,
  );
}

/**
 * The template after the patch, with strategic-merge semantics for the fields a patch
 * touches; used for kinds that cannot be patched in place (CronJob → Job, Job, Rollout).
 */
export function applyTemplatePatch<T extends TemplateView>(template: T, patch: TemplatePatch): T {
  const copy = structuredClone(template);
  if (patch.metadata) {
    copy.metadata = { ...(copy.metadata ?? {}) };
    copy.metadata.annotations = { ...(copy.metadata.annotations ?? {}), ...patch.metadata.annotations };
  }
  for (const pc of patch.spec?.containers ?? []) {
    const container = (copy.spec?.containers ?? []).find((c) => c.name === pc.name);
    if (container) mergeEnv(container, pc.env);
  }
  return copy;
}

function mergeEnv(container: ContainerLike, env: Array<{ name: string; value: string }>): void {
  const list = container.env ?? [];
  for (const e of env) {
    const existing = list.find((x) => x.name === e.name);
    if (existing) {
      existing.value = e.value;
      delete existing.valueFrom;
    } else list.push({ name: e.name, value: e.value });
  }
  container.env = list;
}
