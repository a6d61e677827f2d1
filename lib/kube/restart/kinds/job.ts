import type { V1OwnerReference } from '@kubernetes/client-node';
import { TransientError } from '../../../errors.js';
import { isConflict, kubeError } from '../../api/errors.js';
import { GVR } from '../../api/gvr.js';
import type { KubeObject } from '../../api/objects.js';
import { applyTemplatePatch, type ReloadTarget, type TemplateView } from '../target.js';
import { FIELD_MANAGER, type KindContext, type KindOutcome, type WorkloadKind } from './types.js';

/** Labels the API server derives from a Job's uid; a recreated Job must get fresh ones. */
const DERIVED_LABELS = [
  'controller-uid',
  'batch.kubernetes.io/controller-uid',
  'job-name',
  'batch.kubernetes.io/job-name',
];

/**
 * A Job's template is immutable, so Reloader deletes it (propagation Background) and
 * creates it again with the new hash, without the selector and uid-derived labels the API
 * server generated. The delete carries the resourceVersion that was read as a
 * precondition, so a Job changed meanwhile is re-read instead of lost. A Job that
 * already carries the hash is left alone.
 */
export const jobKind: WorkloadKind = {
  kind: 'Job',
  gvr: GVR.job,
  get: async (client, namespace, name) =>
    (await client.batch.readNamespacedJob({ namespace, name })) as unknown as KubeObject,
  template: (obj) => obj.spec?.template as TemplateView | undefined,
  restart,
};

async function restart(
  ctx: KindContext,
  job: KubeObject,
  targets: readonly ReloadTarget[],
): Promise<KindOutcome> {
  const template = (job.spec?.template ?? {}) as TemplateView;
  const change = ctx.strategy(template, targets);
  if (!change) return { status: 'already-current' };
  if (ctx.dryRun) return { status: 'restarted', written: change.written };
  const namespace = job.metadata?.namespace ?? '';
  const name = job.metadata?.name ?? '';
  await ctx.client.batch.deleteNamespacedJob({
    namespace,
    name,
    // In the body: a DeleteOptions body replaces the query parameters, and without a policy
    // batch/v1 defaults to orphaning, which leaves the Job behind a finalizer.
    body: {
      propagationPolicy: 'Background',
      preconditions: { resourceVersion: job.metadata?.resourceVersion, uid: job.metadata?.uid },
    },
  });
  const body = recreatedJob(job, applyTemplatePatch(template, change.patch));
  try {
    const created = await createOnceGone(ctx, namespace, body);
    return {
      status: 'restarted',
      written: change.written,
      generation: created.metadata?.generation,
      object: created as unknown as KubeObject,
    };
  } catch (error) {
    const why = kubeError(error, 'create').message;
    throw new TransientError(`Job ${namespace}/${name} was deleted but could not be created again (${why})`, {
      cause: error,
    });
  }
}

/** With finalizers the old Job can outlive the delete call briefly; retry the create while its name is taken. */
async function createOnceGone(ctx: KindContext, namespace: string, body: ReturnType<typeof recreatedJob>) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await ctx.client.batch.createNamespacedJob({ namespace, body, fieldManager: FIELD_MANAGER });
    } catch (error) {
      if (!isConflict(error) || attempt >= 50) throw error;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

export function recreatedJob(job: KubeObject, template: TemplateView) {
  const manualSelector = job.spec?.manualSelector === true;
  const { selector, ...spec } = job.spec ?? {};
  const cleanTemplate = manualSelector ? template : withoutDerivedLabels(template);
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name: job.metadata?.name,
      namespace: job.metadata?.namespace,
      labels: manualSelector ? (job.metadata?.labels ?? undefined) : omit(job.metadata?.labels ?? {}),
      annotations: job.metadata?.annotations ?? undefined,
      ownerReferences: job.metadata?.ownerReferences as V1OwnerReference[] | undefined,
    },
    // A manual selector is the user's; otherwise the API server generates a new one.
    spec: { ...spec, ...(manualSelector ? { selector } : {}), template: cleanTemplate },
  };
}

function withoutDerivedLabels(template: TemplateView): TemplateView {
  const labels = template.metadata?.labels;
  if (!labels) return template;
  return { ...template, metadata: { ...template.metadata, labels: omit(labels) } };
}

function omit(labels: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(labels).filter(([k]) => !DERIVED_LABELS.includes(k)));
}
