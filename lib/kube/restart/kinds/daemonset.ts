import { podTemplateKind, strategicMerge } from './pod-template-kind.js';
import { FIELD_MANAGER, type KubeObject, pageOf } from './types.js';

export const daemonSetKind = podTemplateKind({
  kind: 'DaemonSet',
  path: '/apis/apps/v1/daemonsets',
  list: async (client, page) =>
    pageOf(await client.apps.listDaemonSetForAllNamespaces({ limit: page.limit, _continue: page.continue })),
  get: async (client, namespace, name) =>
    (await client.apps.readNamespacedDaemonSet({ namespace, name })) as unknown as KubeObject,
  patch: async (client, namespace, name, body) =>
    (await client.apps.patchNamespacedDaemonSet(
      { namespace, name, body, fieldManager: FIELD_MANAGER },
      strategicMerge,
    )) as unknown as KubeObject,
});
