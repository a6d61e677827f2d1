import { GVR } from '../../api/gvr.js';
import type { KubeObject } from '../../api/objects.js';
import { podTemplateKind } from './pod-template-kind.js';
import { FIELD_MANAGER } from './types.js';

export const daemonSetKind = podTemplateKind({
  kind: 'DaemonSet',
  gvr: GVR.daemonSet,
  get: async (client, namespace, name) =>
    (await client.apps.readNamespacedDaemonSet({ namespace, name })) as unknown as KubeObject,
  patch: async (client, namespace, name, body, options) =>
    (await client.apps.patchNamespacedDaemonSet(
      { namespace, name, body, fieldManager: FIELD_MANAGER },
      options,
    )) as unknown as KubeObject,
});
