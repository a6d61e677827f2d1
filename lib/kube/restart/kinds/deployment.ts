import { GVR } from '../../api/gvr.js';
import type { KubeObject } from '../../api/objects.js';
import { parseGoDuration } from '../../duration.js';
import { RELOADER } from '../annotations.js';
import { podTemplateKind } from './pod-template-kind.js';
import { FIELD_MANAGER } from './types.js';

/**
 * A paused Deployment would take the template change but not roll it out, so rotor
 * reports it instead of writing (as VSO does). One Reloader paused itself after a
 * restart (pause-period, marked with paused-at) is patched like Reloader would.
 */
function pausedReason(obj: KubeObject): string | undefined {
  if (!obj.spec?.paused) return undefined;
  if (obj.metadata?.annotations?.[RELOADER.pausedAt]) return undefined;
  return 'Deployment is paused (spec.paused: true); resume it to roll out the new configuration';
}

/**
 * Reloader's pause-period: the restart patch also pauses the Deployment and stamps
 * paused-at, so further changes within the period accumulate in the template and roll out
 * once, when pause.ts resumes it.
 */
function pauseAfterRestart(obj: KubeObject, now: Date) {
  const period = pausePeriodMs(obj);
  if (!period) return undefined;
  return { metadata: { annotations: { [RELOADER.pausedAt]: now.toISOString() } }, spec: { paused: true } };
}

export function pausePeriodMs(obj: KubeObject): number | undefined {
  const text = obj.metadata?.annotations?.[RELOADER.pausePeriod];
  const ms = text ? parseGoDuration(text) : undefined;
  return ms && ms > 0 ? ms : undefined;
}

export const deploymentKind = podTemplateKind({
  kind: 'Deployment',
  gvr: GVR.deployment,
  skipReason: pausedReason,
  alsoWrite: pauseAfterRestart,
  get: async (client, namespace, name) =>
    (await client.apps.readNamespacedDeployment({ namespace, name })) as unknown as KubeObject,
  patch: async (client, namespace, name, body, options) =>
    (await client.apps.patchNamespacedDeployment(
      { namespace, name, body, fieldManager: FIELD_MANAGER },
      options,
    )) as unknown as KubeObject,
});
