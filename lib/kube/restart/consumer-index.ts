import { Informer, type KubeLog } from '../api/informer.js';
import type { KubeObject } from '../api/objects.js';
import type { ClusterClient } from '../cluster.js';
import { type ResourceType, TYPED } from './annotations.js';
import type { WorkloadKind, WorkloadKindName } from './kinds/types.js';
import { referencedResources } from './references.js';

/**
 * Secret/ConfigMap/SecretProviderClass → workloads that may consume it, so an event costs
 * a map lookup instead of Reloader's "list every workload of the namespace, per kind, per
 * event".
 *
 * Why watch-based informers (one cluster-wide list+watch per kind) rather than cached
 * per-namespace lists: a lookup must be O(1) and current. Per-namespace lists go stale
 * between refreshes (a workload created a second ago is missed) or must be re-listed per
 * event, which is the cost we are removing; a watch keeps the index current within
 * milliseconds for one long-lived request per kind. Memory is the other Reloader pain
 * point, so the index keeps a projection (names the template references, and which
 * resource types it names in a reload list), never the objects: the engine reads the few
 * workloads an event concerns fresh from the API before deciding. On a cold start (a new
 * serverless instance) the first lookup waits for one paginated list per kind.
 */

export interface WorkloadRef {
  kind: WorkloadKindName;
  namespace: string;
  name: string;
}

interface IndexRecord extends WorkloadRef {
  /** `TYPE\0name` of every resource the pod template references. */
  refs: string[];
  /** Resource types named in a reload list on the workload or its template (regex: any name may match). */
  named: ResourceType[];
  /** The kind's reduced copy of the object, when it keeps one (see WorkloadKind.slim). */
  view?: KubeObject;
  uid?: string;
}

export type IndexLog = KubeLog;

export class ConsumerIndex {
  private readonly records = new Map<string, IndexRecord>();
  private readonly byRef = new Map<string, Set<string>>();
  private readonly named = new Map<string, Set<string>>();
  private readonly informers: Informer[];
  private readonly followers = new Map<string, Set<(obj: KubeObject) => void>>();

  /**
   * One informer per kind across namespaces, or, in namespaced mode (`namespaces`), per kind
   * and configured namespace: rotor then never lists or watches outside them.
   */
  constructor(
    client: ClusterClient,
    kinds: readonly WorkloadKind[],
    log: IndexLog,
    namespaces?: readonly string[],
  ) {
    this.informers = kinds.flatMap((kind) =>
      (namespaces ?? [undefined]).map(
        (namespace) =>
          new Informer({
            client,
            gvr: kind.gvr,
            ...(namespace === undefined ? {} : { namespace }),
            log,
            sink: this.sinkFor(kind, namespace),
          }),
      ),
    );
  }

  /** Resolves once every kind has been listed once (or failed to be, which is logged and retried). */
  async start(): Promise<void> {
    await Promise.all(this.informers.map((i) => i.sync().catch(() => undefined)));
  }

  async close(): Promise<void> {
    for (const i of this.informers) i.stop();
  }

  /** Workloads whose pod template references the resource by name (no reload lists): what mounts a class. */
  referencing(namespace: string, type: ResourceType, name: string): WorkloadRef[] {
    return [...(this.byRef.get(refKey(namespace, type, name)) ?? [])].flatMap((key) => {
      const r = this.records.get(key);
      return r ? [{ kind: r.kind, namespace: r.namespace, name: r.name }] : [];
    });
  }

  /** What one informer (a kind, in one namespace or all) feeds: a relist drops what it no longer returns. */
  private sinkFor(kind: WorkloadKind, namespace: string | undefined) {
    const keyOf = (obj: KubeObject) =>
      workloadKey({
        kind: kind.kind,
        namespace: obj.metadata?.namespace ?? '',
        name: obj.metadata?.name ?? '',
      });
    return {
      replace: (items: readonly KubeObject[]) => {
        const seen = new Set(items.map(keyOf));
        for (const obj of items) this.upsert(kind, obj);
        for (const key of this.keysOf(kind.kind, namespace)) if (!seen.has(key)) this.remove(key);
      },
      upsert: (obj: KubeObject) => this.upsert(kind, obj),
      remove: (obj: KubeObject) => this.remove(keyOf(obj), obj.metadata?.uid),
    };
  }

  get size(): number {
    return this.records.size;
  }

  /** Workloads in the namespace that reference the resource or name its type in a reload list. */
  lookup(namespace: string, type: ResourceType, name: string): WorkloadRef[] {
    const keys = new Set<string>([
      ...(this.byRef.get(refKey(namespace, type, name)) ?? []),
      ...(this.named.get(`${namespace}\0${type}`) ?? []),
    ]);
    const out: WorkloadRef[] = [];
    for (const key of keys) {
      const r = this.records.get(key);
      if (r) out.push({ kind: r.kind, namespace: r.namespace, name: r.name });
    }
    return out;
  }

  /** The indexed copy of a workload, as of the last watch event; undefined when not kept. */
  view(ref: WorkloadRef): KubeObject | undefined {
    return this.records.get(workloadKey(ref))?.view;
  }

  /** Workload keys of one kind currently indexed, in one namespace or all (a relist drops those it no longer returns). */
  keysOf(kind: WorkloadKindName, namespace?: string): string[] {
    return [...this.records.values()]
      .filter((r) => r.kind === kind && (namespace === undefined || r.namespace === namespace))
      .map(workloadKey);
  }

  upsert(kind: WorkloadKind, obj: KubeObject): void {
    const record = project(kind, obj);
    const key = workloadKey(record);
    this.remove(key);
    this.records.set(key, record);
    for (const ref of record.refs) addTo(this.byRef, `${record.namespace}\0${ref}`, key);
    for (const type of record.named) addTo(this.named, `${record.namespace}\0${type}`, key);
    for (const follower of this.followers.get(key) ?? []) follower(obj);
  }

  /**
   * Every version of one workload the watch delivers (the whole object, status included),
   * until the returned function is called: rollouts are followed on the index's own watch,
   * without a request per workload.
   */
  follow(ref: WorkloadRef, onObject: (obj: KubeObject) => void): () => void {
    const key = workloadKey(ref);
    addTo(this.followers, key, onObject);
    return () => deleteFrom(this.followers, key, onObject);
  }

  /**
   * Forgets a workload. With `uid`, only that incarnation: a Job rotor recreated (and
   * recorded from the create response) outlives the delete event of its predecessor.
   */
  remove(key: string, uid?: string): void {
    const old = this.records.get(key);
    if (!old || (uid !== undefined && old.uid !== undefined && old.uid !== uid)) return;
    this.records.delete(key);
    for (const ref of old.refs) deleteFrom(this.byRef, `${old.namespace}\0${ref}`, key);
    for (const type of old.named) deleteFrom(this.named, `${old.namespace}\0${type}`, key);
  }
}

export function workloadKey(r: WorkloadRef): string {
  return `${r.kind}/${r.namespace}/${r.name}`;
}

function refKey(namespace: string, type: ResourceType, name: string): string {
  return `${namespace}\0${type}\0${name}`;
}

function project(kind: WorkloadKind, obj: KubeObject): IndexRecord {
  const template = kind.template(obj);
  const refs = referencedResources(template?.spec ?? {});
  const own = obj.metadata?.annotations ?? {};
  const tpl = template?.metadata?.annotations ?? {};
  const types = ['SECRET', 'CONFIGMAP', 'SECRETPROVIDERCLASS'] as const;
  return {
    kind: kind.kind,
    namespace: obj.metadata?.namespace ?? '',
    name: obj.metadata?.name ?? '',
    refs: types.flatMap((t) => [...refs[t]].map((n) => `${t}\0${n}`)),
    named: types.filter((t) => TYPED[t].reload in own || TYPED[t].reload in tpl),
    view: kind.slim?.(obj),
    uid: obj.metadata?.uid,
  };
}

function addTo<T>(map: Map<string, Set<T>>, key: string, value: T): void {
  const set = map.get(key);
  if (set) set.add(value);
  else map.set(key, new Set([value]));
}

function deleteFrom<T>(map: Map<string, Set<T>>, key: string, value: T): void {
  const set = map.get(key);
  if (!set) return;
  set.delete(value);
  if (set.size === 0) map.delete(key);
}
