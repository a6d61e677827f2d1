import { createHash } from 'node:crypto';
import { isConflict, isNotFound } from '../../api/errors.js';
import { GVR } from '../../api/gvr.js';
import type { KubeObject } from '../../api/objects.js';
import { CRONJOB_INSTANTIATE } from '../annotations.js';
import {
  applyTemplatePatch,
  type ReloadTarget,
  sortTargets,
  type TemplateView,
  targetKey,
} from '../target.js';
import { FIELD_MANAGER, type KindContext, type KindOutcome, type WorkloadKind } from './types.js';

/**
 * Reloader never edits a CronJob: it creates a Job from the jobTemplate now (as
 * `kubectl create job --from=cronjob/x` does: annotation instantiate=manual, controller
 * ownerReference), carrying the new hash in its template. Reloader names it with
 * generateName, so every event makes another Job; rotor names it after the hashes
 * (`<cronjob>-<digest>`), so a repeated event finds the Job and does nothing.
 */
export const cronJobKind: WorkloadKind = {
  kind: 'CronJob',
  gvr: GVR.cronJob,
  get: async (client, namespace, name) =>
    (await client.batch.readNamespacedCronJob({ namespace, name })) as unknown as KubeObject,
  template: (obj) => obj.spec?.jobTemplate?.spec?.template as TemplateView | undefined,
  restart,
};

async function restart(
  ctx: KindContext,
  cron: KubeObject,
  targets: readonly ReloadTarget[],
): Promise<KindOutcome> {
  const template = (cron.spec?.jobTemplate?.spec?.template ?? {}) as TemplateView;
  const change = ctx.strategy(template, targets);
  if (!change) return { status: 'already-current' };
  const job = jobFromCronJob(cron, applyTemplatePatch(template, change.patch), change.written);
  const namespace = cron.metadata?.namespace ?? '';
  if (ctx.dryRun) {
    const exists = await ctx.client.batch.readNamespacedJob({ namespace, name: job.metadata.name }).then(
      () => true,
      (error: unknown) => (isNotFound(error) ? false : Promise.reject(error)),
    );
    return exists ? { status: 'already-current' } : { status: 'restarted', written: change.written };
  }
  try {
    const created = await ctx.client.batch.createNamespacedJob({
      namespace,
      body: job,
      fieldManager: FIELD_MANAGER,
    });
    return {
      status: 'restarted',
      written: change.written,
      generation: created.metadata?.generation,
      follow: { kind: 'Job', name: created.metadata?.name ?? job.metadata.name },
    };
  } catch (error) {
    // The Job for these hashes exists: another run created it, and it is what rolls out.
    if (isConflict(error))
      return { status: 'already-current', follow: { kind: 'Job', name: job.metadata.name } };
    throw error;
  }
}

export function jobFromCronJob(cron: KubeObject, template: TemplateView, written: readonly ReloadTarget[]) {
  const jobTemplate = cron.spec?.jobTemplate ?? {};
  const name = cron.metadata?.name ?? '';
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name: `${name.slice(0, 52)}-${digest(written)}`,
      namespace: cron.metadata?.namespace,
      annotations: { [CRONJOB_INSTANTIATE]: 'manual', ...(jobTemplate.metadata?.annotations ?? {}) },
      labels: jobTemplate.metadata?.labels ?? undefined,
      ownerReferences: [
        {
          apiVersion: 'batch/v1',
          kind: 'CronJob',
          name,
          uid: cron.metadata?.uid ?? '',
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    spec: { ...(jobTemplate.spec ?? {}), template },
  };
}

/** Job names must stay within 63 characters (they become a label value): 52 + 1 + 10. */
function digest(written: readonly ReloadTarget[]): string {
  const text = sortTargets(written)
    .map((t) => `${targetKey(t)}=${t.hash}`)
    .join(';');
  return createHash('sha1').update(text).digest('hex').slice(0, 10);
}
