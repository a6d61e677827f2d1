import { RELOADER } from '../annotations.js';
import { podTemplateKind, strategicMerge } from './pod-template-kind.js';
import { FIELD_MANAGER, type KubeObject, pageOf } from './types.js';

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

export const deploymentKind = podTemplateKind({
  kind: 'Deployment',
  path: '/apis/apps/v1/deployments',
  skipReason: pausedReason,
  list: async (client, page) =>
    pageOf(await client.apps.listDeploymentForAllNamespaces({ limit: page.limit, _continue: page.continue })),
  get: async (client, namespace, name) =>
    (await client.apps.readNamespacedDeployment({ namespace, name })) as unknown as KubeObject,
  patch: async (client, namespace, name, body) =>
    (await client.apps.patchNamespacedDeployment(
      { namespace, name, body, fieldManager: FIELD_MANAGER },
      strategicMerge,
    )) as unknown as KubeObject,
});
