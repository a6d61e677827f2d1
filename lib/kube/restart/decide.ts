import type { KubeObject } from '../api/objects.js';
import type { WorkloadKind } from './kinds/types.js';
import { containerFor, referencedResources } from './references.js';
import type { ResolvedResource } from './resource-reader.js';
import { shouldReload } from './rules.js';
import type { ReloadTarget } from './target.js';

/** A changed resource as one workload sees it: its current state and whether it is in scope. */
export interface ScopedResource {
  resource: ResolvedResource;
  /** Set when namespace or label scoping rules the change out. */
  outOfScope?: string;
}

export interface TargetDecision {
  /** False when none of the changes concerns this workload (no reference, no matching reload list). */
  consumer: boolean;
  targets: ReloadTarget[];
  /** Why each concerning change does not restart it. */
  reasons: string[];
  warnings: string[];
}

export interface DecideOptions {
  autoReloadAll: boolean;
  ignoredWorkloadTypes: readonly string[];
}

/**
 * Which of the changed resources this workload restarts for, and on which container:
 * Reloader's rules over the freshly read object, nothing written. A workload that merely
 * references a resource but is not opted in is a consumer with a reason, so `rotor plan`
 * can say why it will not restart.
 */
export function decideTargets(
  kind: WorkloadKind,
  obj: KubeObject,
  inputs: readonly ScopedResource[],
  options: DecideOptions,
): TargetDecision {
  const template = kind.template(obj);
  const spec = template?.spec ?? {};
  const refs = referencedResources(spec);
  const decision: TargetDecision = { consumer: false, targets: [], reasons: [], warnings: [] };
  for (const { resource, outOfScope } of inputs) {
    const references = refs[resource.type].has(resource.change.name);
    const skip = (reason: string) => {
      if (!references) return;
      decision.consumer = true;
      decision.reasons.push(reason);
    };
    if (outOfScope) {
      skip(outOfScope);
      continue;
    }
    if (!resource.present) {
      skip(resource.reason);
      continue;
    }
    const rule = shouldReload({
      workloadKind: kind.kind,
      resource: { type: resource.type, name: resource.change.name, annotations: resource.annotations },
      workloadAnnotations: obj.metadata?.annotations ?? {},
      templateAnnotations: template?.metadata?.annotations ?? {},
      options,
    });
    decision.warnings.push(...rule.warnings);
    if (!rule.reload) {
      skip(rule.reason);
      continue;
    }
    // Auto and search only ever concern workloads that reference the resource.
    if (rule.auto && !references) continue;
    decision.consumer = true;
    const container = containerFor(spec, resource.type, resource.change.name, rule.auto);
    if (!container) {
      decision.reasons.push(`no container uses ${resource.change.kind} ${resource.change.name}`);
      continue;
    }
    decision.targets.push({
      type: resource.type,
      name: resource.change.name,
      namespace: resource.change.namespace,
      hash: resource.hash,
      container,
    });
  }
  return decision;
}
