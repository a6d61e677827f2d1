import { GVR } from '../../api/gvr.js';
import type { KubeObject } from '../../api/objects.js';
import { RELOADER, ROTOR } from '../annotations.js';
import { readHashes } from '../strategies/annotations.js';
import { applyTemplatePatch, type ReloadTarget, type TemplateView, targetKey } from '../target.js';
import { mergePatch } from './pod-template-kind.js';
import { FIELD_MANAGER, type KindContext, type KindOutcome, type WorkloadKind } from './types.js';

const API = { group: GVR.rollout.group, version: GVR.rollout.version, plural: GVR.rollout.plural };

/**
 * Argo Rollouts: by default the template change (Reloader updates the object); with
 * `reloader.stakater.com/rollout-strategy: restart` only `spec.restartAt` is set and the
 * template is left alone. Custom resources take no strategic merge, so the containers
 * list is sent whole in a JSON merge patch guarded by the resourceVersion that was read.
 * In restart mode the hashes restarted for are kept in a Rollout annotation so a
 * repeated event is recognised.
 */
export const rolloutKind: WorkloadKind = {
  kind: 'Rollout',
  gvr: GVR.rollout,
  get: async (client, namespace, name) =>
    (await client.custom.getNamespacedCustomObject({ ...API, namespace, name })) as KubeObject,
  template: (obj) => obj.spec?.template as TemplateView | undefined,
  observed: (obj, generation) => Number(obj.status?.observedGeneration ?? 0) >= generation,
  restart,
};

async function restart(
  ctx: KindContext,
  rollout: KubeObject,
  targets: readonly ReloadTarget[],
): Promise<KindOutcome> {
  const template = rollout.spec?.template as TemplateView | undefined;
  if (!template) {
    return {
      status: 'skipped',
      reason: 'Rollout has no spec.template (workloadRef); restart the referenced workload',
    };
  }
  const change = ctx.strategy(template, targets);
  if (!change) return { status: 'already-current' };
  const restartMode = rollout.metadata?.annotations?.[RELOADER.rolloutStrategy] === 'restart';
  const body = restartMode
    ? restartAtBody(ctx, rollout, change.written)
    : templateBody(rollout, template, change.patch);
  if (!body) return { status: 'already-current' };
  if (ctx.dryRun) return { status: 'restarted', written: change.written };
  const updated = (await ctx.client.custom.patchNamespacedCustomObject(
    {
      ...API,
      namespace: rollout.metadata?.namespace ?? '',
      name: rollout.metadata?.name ?? '',
      body,
      fieldManager: FIELD_MANAGER,
    },
    mergePatch,
  )) as KubeObject;
  return {
    status: 'restarted',
    written: change.written,
    generation: updated.metadata?.generation,
    object: updated,
  };
}

function templateBody(
  rollout: KubeObject,
  template: TemplateView,
  patch: Parameters<typeof applyTemplatePatch>[1],
) {
  const next = applyTemplatePatch(template, patch);
  const templateChange: Record<string, unknown> = {};
  if (patch.metadata) templateChange.metadata = { annotations: next.metadata?.annotations };
  if (patch.spec) templateChange.spec = { containers: next.spec?.containers };
  return {
    metadata: { resourceVersion: rollout.metadata?.resourceVersion },
    spec: { template: templateChange },
  };
}

function restartAtBody(ctx: KindContext, rollout: KubeObject, written: readonly ReloadTarget[]) {
  const applied = readHashes(rollout.metadata?.annotations?.[ROTOR.reloadedHashes]);
  const pending = written.filter((t) => applied[targetKey(t)] !== t.hash);
  if (pending.length === 0) return null;
  for (const t of pending) applied[targetKey(t)] = t.hash;
  return {
    metadata: {
      resourceVersion: rollout.metadata?.resourceVersion,
      annotations: { [ROTOR.reloadedHashes]: JSON.stringify(applied) },
    },
    // Reloader formats with Go's time.RFC3339: second precision.
    spec: {
      restartAt: ctx.clock
        .now()
        .toISOString()
        .replace(/\.\d{3}Z$/, 'Z'),
    },
  };
}
