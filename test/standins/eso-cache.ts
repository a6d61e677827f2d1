/**
 * What the ESO stand-in reads from its informers instead of the API server, as the real ESO
 * does. ESO v0.16.2's controllers read through the manager's client (`mgr.GetClient()`),
 * which serves every kind from the shared informer cache except those listed in
 * `client.CacheOptions.DisableFor`:
 *  - cmd/controller/root.go (`rootCmd` Run): DisableFor gets `&v1.Secret{}` unless
 *    `--enable-secrets-caching` (default false) and `&v1.ConfigMap{}` unless
 *    `--enable-configmaps-caching`; ExternalSecrets and (Cluster)SecretStores stay cached;
 *  - pkg/controllers/externalsecret/externalsecret_controller.go `Reconcile`: `r.Get` of the
 *    ExternalSecret (cached); the target Secret's metadata from the metadata-only cache
 *    (`WatchesMetadata`), then the whole Secret through `r.SecretClient.Get` (= the manager's
 *    client: an API GET, Secrets being uncached) on every reconcile;
 *  - same file, `shouldSkipUnmanagedStore`: `r.Get` of every referenced store (cached);
 *  - pkg/controllers/secretstore/client_manager.go `Manager.getStore`: `m.client.Get` with
 *    the reconciler's client (externalsecret_controller_secret.go `NewManager(r.Client, ...)`),
 *    cached; the SecretStore reconcilers read their store through `r.Get` as well.
 * So per sync the stand-in sends the Secret GET, its write, the status write and the event,
 * and no read of the ExternalSecret or its store. Objects are handed out as copies, as
 * controller-runtime's cache reader does (a reconcile changes its copy).
 */
import { objectKey, type StandinObject } from './standin-kube.js';

interface StoreRef {
  kind?: string;
  name?: string;
}

/** The store queue's key: `<kind>:<namespace>/<name>`, or `ClusterSecretStore:<name>`. */
export function storeKey(ref: StoreRef, namespace: string | undefined): string {
  return ref.kind === 'ClusterSecretStore'
    ? `ClusterSecretStore:${ref.name}`
    : `SecretStore:${namespace}/${ref.name}`;
}

export class EsoCache<E extends StandinObject, S extends StandinObject> {
  private readonly externalSecrets = new Map<string, E>();
  private readonly stores = new Map<string, S>();
  /** ExternalSecrets (keys) that named a store the cache did not have yet, by store key. */
  private readonly awaiting = new Map<string, Set<string>>();

  /** `reconcile` enqueues an ExternalSecret whose store has arrived. */
  constructor(private readonly reconcile: (esKey: string) => void) {}

  externalSecret(key: string): E | undefined {
    const es = this.externalSecrets.get(key);
    return es && structuredClone(es);
  }

  store(ref: StoreRef, es: StandinObject): S | undefined {
    return this.storeByKey(storeKey(ref, es.metadata.namespace));
  }

  storeByKey(key: string): S | undefined {
    const store = this.stores.get(key);
    return store && structuredClone(store);
  }

  /** Reconcile `esKey` again once the store `ref` is in the cache. */
  awaitStore(ref: StoreRef, es: StandinObject, esKey: string): void {
    const key = storeKey(ref, es.metadata.namespace);
    const waiting = this.awaiting.get(key) ?? new Set<string>();
    waiting.add(esKey);
    this.awaiting.set(key, waiting);
  }

  setExternalSecret(es: E): void {
    this.externalSecrets.set(objectKey(es), es);
  }

  deleteExternalSecret(es: E): void {
    this.externalSecrets.delete(objectKey(es));
  }

  setStore(key: string, store: S): void {
    this.stores.set(key, store);
    const waiting = this.awaiting.get(key);
    this.awaiting.delete(key);
    for (const esKey of waiting ?? []) this.reconcile(esKey);
  }

  deleteStore(key: string): void {
    this.stores.delete(key);
  }
}
