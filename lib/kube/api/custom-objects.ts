import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { ClusterClient } from '../cluster.js';
import { kubeError, statusOf } from './errors.js';
import type { Gvr } from './gvr.js';
import { type KubeObject, type ListPage, pageOf, qualified } from './objects.js';

const PAGE = 500;

/** One page of a collection: one namespace's, or the whole cluster's (any kind served under /apis). */
export async function listPage(
  client: ClusterClient,
  gvr: Gvr,
  namespace: string | undefined,
  page: { limit: number; continue?: string },
): Promise<ListPage> {
  const { group, version, plural } = gvr;
  const query = { group, version, plural, limit: page.limit, _continue: page.continue };
  return pageOf(
    await (namespace === undefined
      ? client.custom.listClusterCustomObject(query)
      : client.custom.listNamespacedCustomObject({ ...query, namespace })),
  );
}

/**
 * Every object of a kind, in the whole cluster or in one namespace, page by page. A missing
 * CRD (404) means the operator is not installed there: nothing derives through it. Runs
 * read through the object cache (object-cache.ts); this is for one-off reads.
 */
export async function listAll(client: ClusterClient, gvr: Gvr, namespace?: string): Promise<KubeObject[]> {
  const out: KubeObject[] = [];
  let cont: string | undefined;
  try {
    do {
      const page = await listPage(client, gvr, namespace, { limit: PAGE, continue: cont });
      out.push(...page.items);
      cont = page.continue || undefined;
    } while (cont);
  } catch (error) {
    if (statusOf(error) === 404) return [];
    throw kubeError(
      error,
      `list ${gvr.plural}.${gvr.group}${namespace === undefined ? '' : ` in ${namespace}`}`,
    );
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
