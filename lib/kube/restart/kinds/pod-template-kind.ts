import { type ConfigurationOptions, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { kubeError, statusOf } from '../../api/errors.js';
import type { Gvr } from '../../api/gvr.js';
import { type KubeObject, nameOf } from '../../api/objects.js';
import type { ClusterClient } from '../../cluster.js';
import type { ReloadTarget, TemplatePatch, TemplateView } from '../target.js';
import { GuardRefusedError, guardedTemplatePatch } from './guarded-patch.js';
import { slimPodTemplateWorkload } from './slim.js';
import type { KindContext, KindOutcome, WorkloadKind } from './types.js';

/**
 * Deployment, StatefulSet and DaemonSet restart the same way: a patch of `spec.template`
 * that lands only on an object the decision still holds for (otherwise 409/422, and the
 * engine decides again): two restarters never both write. The guard is what the decision
 * was made from (guarded-patch.ts), so the controller's status writes do not refuse it;
 * an object without a generation is written with a strategic-merge patch carrying the
 * resourceVersion that was read.
 */
export interface PodTemplateKindSpec {
  kind: 'Deployment' | 'StatefulSet' | 'DaemonSet';
  gvr: Gvr;
  get: WorkloadKind['get'];
  /** `options`: the patch type (strategicMerge, or jsonPatch for a guarded write). */
  patch(
    client: ClusterClient,
    namespace: string,
    name: string,
    body: object,
    options: ConfigurationOptions,
  ): Promise<KubeObject>;
  skipReason?(obj: KubeObject): string | undefined;
  /** Fields written in the same patch as the template (Deployment pause-period). */
  alsoWrite?(
    obj: KubeObject,
    now: Date,
  ): { metadata?: { annotations?: Record<string, string> }; spec?: { paused?: boolean } } | undefined;
}

export function podTemplateKind(spec: PodTemplateKindSpec): WorkloadKind {
  return {
    kind: spec.kind,
    gvr: spec.gvr,
    get: spec.get,
    template: (obj) => obj.spec?.template as TemplateView | undefined,
    slim: slimPodTemplateWorkload,
    observed: (obj, generation) => (obj.status?.observedGeneration ?? 0) >= generation,
    async restart(ctx: KindContext, obj: KubeObject, targets: readonly ReloadTarget[]): Promise<KindOutcome> {
      const skip = spec.skipReason?.(obj);
      if (skip) return { status: 'skipped', reason: skip };
      const change = ctx.strategy((obj.spec?.template ?? {}) as TemplateView, targets);
      if (!change) return { status: 'already-current' };
      if (ctx.dryRun) return { status: 'restarted', written: change.written };
      const { namespace, name } = nameOf(obj);
      const extra = spec.alsoWrite?.(obj, ctx.clock.now());
      const guarded = guardedTemplatePatch(obj, change.patch, extra);
      const updated = guarded
        ? await spec.patch(ctx.client, namespace, name, guarded, jsonPatch).catch((error: unknown) => {
            if (statusOf(error) !== 422) throw error;
            throw new GuardRefusedError(kubeError(error, `patch ${spec.kind} ${namespace}/${name}`));
          })
        : await spec.patch(ctx.client, namespace, name, mergedBody(obj, change.patch, extra), strategicMerge);
      return {
        status: 'restarted',
        written: change.written,
        generation: updated.metadata?.generation,
        object: updated,
      };
    },
  };
}

/** The strategic-merge write, guarded by the resourceVersion the decision was made from. */
function mergedBody(obj: KubeObject, patch: TemplatePatch, extra: ReturnType<AlsoWrite>): object {
  const body = { metadata: { resourceVersion: obj.metadata?.resourceVersion }, spec: { template: patch } };
  return extra
    ? { metadata: { ...body.metadata, ...extra.metadata }, spec: { ...body.spec, ...extra.spec } }
    : body;
}

type AlsoWrite = NonNullable<PodTemplateKindSpec['alsoWrite']>;

export const strategicMerge = setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch);
export const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
export const jsonPatch = setHeaderOptions('Content-Type', PatchStrategy.JsonPatch);
