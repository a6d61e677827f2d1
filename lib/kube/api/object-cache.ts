import { ForbiddenError } from '../../errors.js';
import type { ClusterClient } from '../cluster.js';
import { listAll } from './custom-objects.js';
import { kubeError, statusOf } from './errors.js';
import type { Gvr } from './gvr.js';
import { Informer, type InformerEvent, type InformerOptions, type KubeLog } from './informer.js';
import type { KubeObject } from './objects.js';

/** What a run reads of one kind: every object rotor may see, and why some could not be read. */
export interface CachedList {
  items: KubeObject[];
  /** Set when the kind could not be read and is skipped (namespaced mode, cluster-scoped kind not granted). */
  unreadable?: string;
}

/** Reads a kind's objects in one cluster: the object cache, or a plain list (one-off reads, tests). */
export interface ObjectSource {
  list(gvr: Gvr): Promise<CachedList>;
}

export interface ObjectCacheOptions {
  /** Namespaced mode: namespaced kinds are listed and watched in these namespaces only. */
  namespaces?: readonly string[];
  log: KubeLog;
  /** How watches are opened (tests; default startWatch). */
  watch?: InformerOptions['watch'];
}

interface Scope {
  namespace: string | undefined;
  informer: Informer;
  objects: Map<string, KubeObject>;
}

/**
 * The operator objects of one cluster (ExternalSecrets, stores, VaultStaticSecrets, ...),
 * listed once per kind on first use and kept current by watch, shared by every run: an
 * event reads memory instead of listing the cluster. A run waits for a kind's first list;
 * a broken watch resumes or relists (informer.ts). In namespaced mode each namespaced kind
 * is followed in each configured namespace only; a cluster-scoped kind (ClusterSecretStore,
 * ClusterExternalSecret) is read when rotor's identity may list it, and otherwise skipped
 * with one warning naming the missing grant.
 */
export class ObjectCache implements ObjectSource {
  private readonly kinds = new Map<string, Scope[]>();
  private readonly warned = new Set<string>();

  constructor(
    private readonly client: ClusterClient,
    private readonly options: ObjectCacheOptions,
  ) {}

  /** Starts following these kinds now (warm-up); failures are left for list() to report. */
  start(gvrs: readonly Gvr[]): Promise<void> {
    return Promise.allSettled(gvrs.map((g) => this.list(g))).then(() => undefined);
  }

  async list(gvr: Gvr): Promise<CachedList> {
    const scopes = this.scopesOf(gvr);
    const settled = await Promise.allSettled(scopes.map((s) => s.informer.sync()));
    let unreadable: string | undefined;
    settled.forEach((result, i) => {
      if (result.status === 'fulfilled') return;
      const status = statusOf(result.reason);
      if (status === 404) return; // the kind is not served: its operator is not installed
      if (status === 403 && this.options.namespaces && !gvr.namespaced) {
        unreadable = this.skip(gvr);
        return;
      }
      throw kubeError(result.reason, `list ${(scopes[i] as Scope).informer.label}`);
    });
    const items = scopes.flatMap((s) => [...s.objects.values()]);
    return unreadable ? { items, unreadable } : { items };
  }

  /** LIST requests sent so far, pages included. */
  get listRequests(): number {
    let n = 0;
    for (const scopes of this.kinds.values()) for (const s of scopes) n += s.informer.lists;
    return n;
  }

  close(): void {
    for (const scopes of this.kinds.values()) for (const s of scopes) s.informer.stop();
    this.kinds.clear();
  }

  /** The object as the cache holds it now, if its kind is followed already (no list is started). */
  known(gvr: Gvr, namespace: string, name: string): KubeObject | undefined {
    for (const scope of this.followed(gvr) ?? []) {
      const obj = scope.objects.get(`${namespace}/${name}`);
      if (obj) return obj;
    }
    return undefined;
  }

  /**
   * One object's events from the kind's live watch (full objects), so a refresh follows its
   * forced object without a watch of its own; undefined when no watch of that kind covering
   * the namespace is open. Ends with `gap` if the watch does.
   */
  listen(gvr: Gvr, namespace: string, name: string, listener: (e: InformerEvent) => void) {
    const scope = this.followed(gvr)?.find((s) => s.namespace === undefined || s.namespace === namespace);
    return scope?.informer.listen((e) => {
      if (e.phase === 'gap') listener(e);
      else if (e.obj.metadata?.namespace === namespace && e.obj.metadata?.name === name) listener(e);
    });
  }

  /** The kind's scopes if it is followed already; never starts following it. */
  private followed(gvr: Gvr): Scope[] | undefined {
    return this.kinds.get(kindKey(gvr));
  }

  private scopesOf(gvr: Gvr): Scope[] {
    let scopes = this.followed(gvr);
    if (!scopes) {
      const namespaces = gvr.namespaced && this.options.namespaces ? this.options.namespaces : [undefined];
      scopes = namespaces.map((namespace) => this.scope(gvr, namespace));
      this.kinds.set(kindKey(gvr), scopes);
    }
    return scopes;
  }

  private scope(gvr: Gvr, namespace: string | undefined): Scope {
    const objects = new Map<string, KubeObject>();
    const keyOf = (o: KubeObject) => `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;
    const informer = new Informer({
      client: this.client,
      gvr,
      ...(namespace === undefined ? {} : { namespace }),
      log: this.options.log,
      ...(this.options.watch ? { watch: this.options.watch } : {}),
      sink: {
        replace(items) {
          objects.clear();
          for (const o of items) objects.set(keyOf(o), slim(o));
        },
        upsert: (o) => objects.set(keyOf(o), slim(o)),
        remove: (o) => objects.delete(keyOf(o)),
      },
    });
    return { namespace, informer, objects };
  }

  private skip(gvr: Gvr): string {
    const reason =
      `namespaced mode: rotor's identity may not list ${gvr.plural}.${gvr.group} (cluster-scoped), ` +
      `so objects that use a ${gvr.kind} are not found; bind the ClusterRole rotor-cluster-scoped ` +
      '(infra/k8s/namespaced/cluster-scoped.yaml) to read them';
    if (!this.warned.has(gvr.plural)) {
      this.warned.add(gvr.plural);
      this.options.log('warn', reason, { cluster: this.client.name });
    }
    return reason;
  }
}

/** A kind's key in the cache: one per resource, whatever version a caller names. */
function kindKey(gvr: Gvr): string {
  return `${gvr.plural}.${gvr.group}`;
}

/** managedFields are most of an object's size and nothing rotor resolves with reads them. */
function slim(obj: KubeObject): KubeObject {
  if (!obj.metadata?.managedFields) return obj;
  const { managedFields: _, ...metadata } = obj.metadata;
  return { ...obj, metadata };
}

/**
 * A list per call, for one-off reads outside the app (direct callers, tests of a single
 * resolve). Same scope rules as the cache, without following anything.
 */
export function listingSource(client: ClusterClient, namespaces?: readonly string[]): ObjectSource {
  return {
    async list(gvr) {
      const scopes = gvr.namespaced && namespaces ? namespaces : [undefined];
      try {
        const lists = await Promise.all(scopes.map((ns) => listAll(client, gvr, ns)));
        return { items: lists.flat() };
      } catch (error) {
        if (namespaces && !gvr.namespaced && error instanceof ForbiddenError)
          return { items: [], unreadable: `namespaced mode: may not list ${gvr.plural}.${gvr.group}` };
        throw error;
      }
    },
  };
}
