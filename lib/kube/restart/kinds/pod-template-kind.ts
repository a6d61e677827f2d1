import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { Gvr } from '../../api/gvr.js';
import { type KubeObject, nameOf } from '../../api/objects.js';
import type { ClusterClient } from '../../cluster.js';
import type { ReloadTarget, TemplatePatch, TemplateView } from '../target.js';
import { slimPodTemplateWorkload } from './slim.js';
import type { KindContext, KindOutcome, WorkloadKind } from './types.js';

/**
 * Deployment, StatefulSet and DaemonSet restart the same way: a strategic-merge patch of
 * `spec.template`. The patch carries the resourceVersion that was read, so it lands only
 * on the object the decision was made from (409 otherwise, and the engine re-reads):
 * two restarters never both write.
 */
export interface PodTemplateKindSpec {
  kind: 'Deployment' | 'StatefulSet' | 'DaemonSet';
  gvr: Gvr;
  get: WorkloadKind['get'];
  patch(client: ClusterClient, namespace: string, name: string, body: object): Promise<KubeObject>;
  skipReason?(obj: KubeObject): string | undefined;
  /** Fields written in the same patch as the template (Deployment pause-period). */
  alsoWrite?(obj: KubeObject, now: Date): { metadata?: object; spec?: object } | undefined;
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
      const body = templatePatchBody(obj, change.patch);
      const extra = spec.alsoWrite?.(obj, ctx.clock.now());
      const merged = extra
        ? { metadata: { ...body.metadata, ...extra.metadata }, spec: { ...body.spec, ...extra.spec } }
        : body;
      const updated = await spec.patch(ctx.client, namespace, name, merged);
      return {
        status: 'restarted',
        written: change.written,
        generation: updated.metadata?.generation,
        object: updated,
      };
    },
  };
}

function templatePatchBody(
  obj: KubeObject,
  patch: TemplatePatch,
): { metadata: { resourceVersion?: string }; spec: { template: TemplatePatch } } {
  return { metadata: { resourceVersion: obj.metadata?.resourceVersion }, spec: { template: patch } };
}

export const strategicMerge = setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch);
export const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
