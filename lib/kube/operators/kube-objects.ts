import { ApiException, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { ForbiddenError, NotFoundError, RotorError, TransientError } from '../../errors.js';
import type { ClusterClient } from '../cluster.js';

/** Group/version/resource of a custom resource rotor reads or patches. */
export interface Gvr {
  group: string;
  version: string;
  plural: string;
  kind: string;
  namespaced: boolean;
}

export const GVR = {
  externalSecret: {
    group: 'external-secrets.io',
    version: 'v1',
    plural: 'externalsecrets',
    kind: 'ExternalSecret',
    namespaced: true,
  },
  clusterExternalSecret: {
    group: 'external-secrets.io',
    version: 'v1',
    plural: 'clusterexternalsecrets',
    kind: 'ClusterExternalSecret',
    namespaced: false,
  },
  secretStore: {
    group: 'external-secrets.io',
    version: 'v1',
    plural: 'secretstores',
    kind: 'SecretStore',
    namespaced: true,
  },
  clusterSecretStore: {
    group: 'external-secrets.io',
    version: 'v1',
    plural: 'clustersecretstores',
    kind: 'ClusterSecretStore',
    namespaced: false,
  },
  vaultStaticSecret: {
    group: 'secrets.hashicorp.com',
    version: 'v1beta1',
    plural: 'vaultstaticsecrets',
    kind: 'VaultStaticSecret',
    namespaced: true,
  },
  vaultAuth: {
    group: 'secrets.hashicorp.com',
    version: 'v1beta1',
    plural: 'vaultauths',
    kind: 'VaultAuth',
    namespaced: true,
  },
  vaultConnection: {
    group: 'secrets.hashicorp.com',
    version: 'v1beta1',
    plural: 'vaultconnections',
    kind: 'VaultConnection',
    namespaced: true,
  },
  secretProviderClass: {
    group: 'secrets-store.csi.x-k8s.io',
    version: 'v1',
    plural: 'secretproviderclasses',
    kind: 'SecretProviderClass',
    namespaced: true,
  },
  rollout: {
    group: 'argoproj.io',
    version: 'v1alpha1',
    plural: 'rollouts',
    kind: 'Rollout',
    namespaced: true,
  },
} as const satisfies Record<string, Gvr>;

/** The parts of a Kubernetes object rotor reads; the rest stays `unknown`. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    generation?: number;
    resourceVersion?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: Array<{
      apiVersion: string;
      kind: string;
      name: string;
      uid: string;
      controller?: boolean;
    }>;
    managedFields?: Array<{ manager?: string; operation?: string; time?: string }>;
  };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
}

export interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
}

export function conditionOf(obj: KubeObject, type: string): Condition | undefined {
  const conditions = (obj.status?.conditions as Condition[] | undefined) ?? [];
  return conditions.find((c) => c.type === type);
}

export function apiCode(error: unknown): number | undefined {
  return error instanceof ApiException ? error.code : undefined;
}

/** The API server's own message (a Status object), never a payload. */
export function apiMessage(error: unknown): string {
  if (!(error instanceof ApiException)) return error instanceof Error ? error.message : String(error);
  let body: unknown = error.body;
  if (typeof body === 'string') {
    const raw = body;
    try {
      body = JSON.parse(raw);
    } catch {
      return `HTTP ${error.code}: ${raw.slice(0, 300)}`;
    }
  }
  const message = (body as { message?: unknown } | undefined)?.message;
  return typeof message === 'string' ? message : `HTTP ${error.code}`;
}

/** Maps an API failure to rotor's typed errors, naming what was attempted and how to fix it. */
export function kubeError(error: unknown, action: string): RotorError {
  if (error instanceof RotorError) return error;
  const code = apiCode(error);
  const detail = apiMessage(error);
  if (code === 403) {
    return new ForbiddenError(
      `forbidden: ${action}: ${detail} (grant the verb to rotor in infra/k8s/rbac.yaml)`,
      {
        cause: error,
      },
    );
  }
  if (code === 404) return new NotFoundError(`${action}: ${detail}`, { cause: error });
  return new TransientError(`${action}: ${detail}`, { cause: error });
}

export function collectionPath(gvr: Gvr, namespace?: string): string {
  const ns = gvr.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  return `/apis/${gvr.group}/${gvr.version}${ns}/${gvr.plural}`;
}

const PAGE = 500;

/**
 * Every object of a kind in the cluster, page by page. A missing CRD (404) means the
 * operator is not installed there: nothing derives through it.
 */
export async function listAll(client: ClusterClient, gvr: Gvr): Promise<KubeObject[]> {
  const out: KubeObject[] = [];
  let cont: string | undefined;
  try {
    do {
      const page = (await client.custom.listClusterCustomObject({
        group: gvr.group,
        version: gvr.version,
        plural: gvr.plural,
        limit: PAGE,
        _continue: cont,
      })) as { items?: KubeObject[]; metadata?: { _continue?: string; continue?: string } };
      out.push(...(page.items ?? []));
      cont = page.metadata?._continue ?? page.metadata?.continue ?? undefined;
    } while (cont);
  } catch (error) {
    if (apiCode(error) === 404) return [];
    throw kubeError(error, `list ${gvr.plural}.${gvr.group}`);
  }
  return out;
}

export async function getObject(
  client: ClusterClient,
  gvr: Gvr,
  namespace: string,
  name: string,
): Promise<KubeObject> {
  try {
    const obj = await (gvr.namespaced
      ? client.custom.getNamespacedCustomObject({
          group: gvr.group,
          version: gvr.version,
          plural: gvr.plural,
          namespace,
          name,
        })
      : client.custom.getClusterCustomObject({
          group: gvr.group,
          version: gvr.version,
          plural: gvr.plural,
          name,
        }));
    return obj as KubeObject;
  } catch (error) {
    throw kubeError(error, `get ${gvr.plural}.${gvr.group} ${qualified(namespace, name)}`);
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
  const body = { metadata: { annotations } };
  const options = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
  try {
    const obj = gvr.namespaced
      ? await client.custom.patchNamespacedCustomObject(
          { group: gvr.group, version: gvr.version, plural: gvr.plural, namespace, name, body, fieldManager },
          options,
        )
      : await client.custom.patchClusterCustomObject(
          { group: gvr.group, version: gvr.version, plural: gvr.plural, name, body, fieldManager },
          options,
        );
    return obj as KubeObject;
  } catch (error) {
    throw kubeError(error, `patch ${gvr.plural}.${gvr.group} ${qualified(namespace, name)}`);
  }
}

/**
 * When the API server applied our patch, in its own clock (managedFields, 1 s precision).
 * Operators' condition times come from in-cluster clocks, so this avoids rotor's skew.
 */
export function serverPatchTime(obj: KubeObject, fieldManager: string): Date | undefined {
  const entry = (obj.metadata.managedFields ?? []).find(
    (f) => f.manager === fieldManager && f.operation === 'Update',
  );
  return entry?.time ? new Date(entry.time) : undefined;
}

export function qualified(namespace: string, name: string): string {
  return namespace ? `${namespace}/${name}` : name;
}
