import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { ClusterClient } from '../cluster.js';
import { kubeError, statusOf } from './errors.js';
import type { Gvr } from './gvr.js';
import { type KubeObject, pageOf, qualified } from './objects.js';

const PAGE = 500;

/**
 * Every object of a kind, in the whole cluster or in one namespace, page by page (any kind
 * served under /apis, the built-in workload kinds included). A missing CRD (404) means the
 * operator is not installed there: nothing derives through it.
 */
export async function listAll(client: ClusterClient, gvr: Gvr, namespace?: string): Promise<KubeObject[]> {
  const { group, version, plural } = gvr;
  const out: KubeObject[] = [];
  let cont: string | undefined;
  try {
    do {
      const query = { group, version, plural, limit: PAGE, _continue: cont };
      const page = pageOf(
        await (namespace === undefined
          ? client.custom.listClusterCustomObject(query)
          : client.custom.listNamespacedCustomObject({ ...query, namespace })),
      );
      out.push(...page.items);
      cont = page.continue || undefined;
    } while (cont);
  } catch (error) {
    if (statusOf(error) === 404) return [];
    throw kubeError(error, `list ${plural}.${group}${namespace === undefined ? '' : ` in ${namespace}`}`);
  }
  return out;
}

export async function getObject(
  client: ClusterClient,
  gvr: Gvr,
  namespace: string,
  name: string,
): Promise<KubeObject> {
  const { group, version, plural } = gvr;
  try {
    const obj = await (gvr.namespaced
      ? client.custom.getNamespacedCustomObject({ group, version, plural, namespace, name })
      : client.custom.getClusterCustomObject({ group, version, plural, name }));
    return obj as KubeObject;
  } catch (error) {
    throw kubeError(error, `get ${plural}.${group} ${qualified(namespace, name)}`);
  }
}

/** Sets annotations with a JSON merge patch; returns the patched object (its resourceVersion starts the watch). */
export async function annotate(
  client: ClusterClient,
  gvr: Gvr,
  namespace: string,
  name: string,
  annotations: Record<string, string>,
  fieldManager: string,
): Promise<KubeObject> {
  const { group, version, plural } = gvr;
  const body = { metadata: { annotations } };
  const options = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
  try {
    const obj = gvr.namespaced
      ? await client.custom.patchNamespacedCustomObject(
          { group, version, plural, namespace, name, body, fieldManager },
          options,
        )
      : await client.custom.patchClusterCustomObject(
          { group, version, plural, name, body, fieldManager },
          options,
        );
    return obj as KubeObject;
  } catch (error) {
    throw kubeError(error, `patch ${plural}.${group} ${qualified(namespace, name)}`);
  }
}
