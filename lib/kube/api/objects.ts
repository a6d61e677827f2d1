/**
 * The parts of a Kubernetes object rotor reads; typed client models, custom objects and raw
 * watch JSON all fit. Each reader narrows what it reads (an operator its CR's spec, a
 * workload kind its pod template), so spec and status stay open here.
 */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta | null;
  // biome-ignore lint/suspicious/noExplicitAny: specs differ per kind; each reader narrows what it reads.
  spec?: any;
  // biome-ignore lint/suspicious/noExplicitAny: as above, for status.
  status?: any;
}

export interface ObjectMeta {
  name?: string;
  namespace?: string;
  uid?: string;
  generation?: number;
  resourceVersion?: string;
  labels?: Record<string, string> | null;
  annotations?: Record<string, string> | null;
  ownerReferences?: OwnerReference[] | null;
  managedFields?: Array<{ manager?: string; operation?: string; time?: string | Date }> | null;
  [key: string]: unknown;
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
}

export interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
}

export interface ListPage {
  items: KubeObject[];
  resourceVersion: string;
  continue?: string;
}

export function nameOf(obj: KubeObject): { namespace: string; name: string } {
  return { namespace: obj.metadata?.namespace ?? '', name: obj.metadata?.name ?? '' };
}

export function qualified(namespace: string, name: string): string {
  return namespace ? `${namespace}/${name}` : name;
}

export function conditionOf(obj: KubeObject, type: string): Condition | undefined {
  const conditions = (obj.status?.conditions as Condition[] | undefined) ?? [];
  return conditions.find((c) => c.type === type);
}

/** One page of a list response, typed model or raw JSON (`_continue` is the typed client's spelling). */
export function pageOf(list: {
  items?: unknown[];
  metadata?: { resourceVersion?: string; _continue?: string; continue?: string };
}): ListPage {
  return {
    items: (list.items ?? []) as KubeObject[],
    resourceVersion: list.metadata?.resourceVersion ?? '',
    continue: list.metadata?._continue ?? list.metadata?.continue ?? undefined,
  };
}

/**
 * When the API server applied our patch, in its own clock (managedFields, 1 s precision).
 * Operators' condition times come from in-cluster clocks, so this avoids rotor's skew.
 */
export function serverPatchTime(obj: KubeObject, fieldManager: string): Date | undefined {
  const entry = (obj.metadata?.managedFields ?? []).find(
    (f) => f.manager === fieldManager && f.operation === 'Update',
  );
  return entry?.time ? new Date(entry.time) : undefined;
}
