import { GVR } from '../../api/gvr.js';
import type { KubeObject } from '../../api/objects.js';
import { podTemplateKind } from './pod-template-kind.js';
import { FIELD_MANAGER } from './types.js';

export const statefulSetKind = podTemplateKind({
  kind: 'StatefulSet',
  gvr: GVR.statefulSet,
  get: async (client, namespace, name) =>
    (await client.apps.readNamespacedStatefulSet({ namespace, name })) as unknown as KubeObject,
  patch: async (client, namespace, name, body, options) =>
    (await client.apps.patchNamespacedStatefulSet(
      { namespace, name, body, fieldManager: FIELD_MANAGER },
      options,
    )) as unknown as KubeObject,
});
