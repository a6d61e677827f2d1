/**
 * STAND-IN for External Secrets Operator (external-secrets.io/v1): a TEST DOUBLE, not ESO.
 * The real ESO controller runs in the test clusters (test/env/eso.ts) for every store but
 * Azure Key Vault, whose provider needs Entra ID; this controller serves the stores that
 * name its class (STANDIN_CONTROLLER_CLASS) and reproduces what the real ESO was observed
 * to do (REFERENCE.md section 2a), as data in ESO_BEHAVIOUR, with one test per behaviour
 * in test/integration/standins/eso-standin.test.ts:
 *  - adds its cleanup finalizer; `shouldRefresh` as ESO: CreatedOnce syncs once; OnChange
 *    when `<generation>-<hash(labels,annotations)>` differs from syncedResourceVersion;
 *    Periodic (default) also every refreshInterval, never again with refreshInterval 0
 *    (the trap: a forced sync is ignored);
 *  - reads ExternalSecrets and (Cluster)SecretStores from its informers and the target Secret
 *    from the API server, as ESO does by default (eso-cache.ts cites where);
 *  - reads Key Vault / Vault like ESO's azurekv / vault providers (eso-provider.ts);
 *  - writes the target Secret with the ExternalSecret's own labels and annotations (the
 *    force-sync annotation too), ESO's managed label, owner label and data-hash annotation,
 *    on every sync: a forced sync rewrites it (new resourceVersion) even when the data is
 *    the same; Normal events Created "secret created" / Updated "secret updated";
 *  - status: Ready True SecretSynced "secret synced"; on failure Ready False
 *    SecretSyncedError "could not get secret data from provider", binding.name "" and
 *    refreshTime null, the provider's error in a Warning UpdateFailed event ("error
 *    processing spec.data[0] (key: ...), err: ..."); a failure that repeats with the same
 *    message writes no status; retries with controller-runtime's backoff (5 ms doubling);
 *    client-go's spam limit of ~25 events per object (standin-kube.ts);
 *  - stores: validates those of its class (Ready True Valid "store validated", a Normal
 *    Valid event, capabilities ReadWrite), `storeValidationDelayMs` after it sees them; until
 *    then the flood gate fails their ExternalSecrets with `SecretStore "<name>" is not ready`
 *    (inside "error processing spec.data[i] ..."), retried with the backoff;
 *  - ClusterExternalSecret (ESO 2.x): its cleanup finalizer, and `.../ces-<name>` on each
 *    Namespace it provisions into; provisions ExternalSecrets in matching namespaces with
 *    spec.externalSecretMetadata and its own `external-secrets.io/force-sync` annotation;
 *    a Ready condition without lastTransitionTime; on deletion removes the Namespace
 *    finalizers and the ExternalSecrets, then its own finalizer.
 * Not reproduced: templates, generators, push secrets, store validation by a provider call
 * (every store of its class is valid), sync windows, ESO's Secret watch (drift repair).
 */
import type { SecretClient } from '@azure/keyvault-secrets';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { parseGoDuration } from '../../lib/kube/duration.js';
import { STANDIN_CONTROLLER_CLASS } from '../env/eso.js';
import { EsoCache } from './eso-cache.js';
import {
  type FindRef,
  type ProviderClient,
  providerClient,
  type RemoteRef,
  type ResolvedStore,
} from './eso-provider.js';
import { esoDataHash, esoResourceVersion, objectHash } from './go-format.js';
import { type KeyVaultAccess, keyVaultClientFactory, type VaultAccess } from './standin-backends.js';
import {
  isNotFound,
  metaTime,
  objectKey,
  recordEvent,
  type StandinKube,
  type StandinObject,
  splitKey,
  standinKube,
  startInformers,
  WorkQueue,
} from './standin-kube.js';

export interface EsoStandinOptions {
  /** Admin kubeconfig YAML: the stand-in acts as the operator, not as rotor. */
  kubeconfig: string;
  keyVault?: KeyVaultAccess;
  vault?: VaultAccess;
  /** Only these namespaces are reconciled, so parallel tests never share objects. */
  namespaces?: readonly string[];
  /**
   * Stores must name this class in `spec.controller` (default STANDIN_CONTROLLER_CLASS).
   * Unlike ESO, which also takes stores naming no class, the stand-in takes only its own:
   * the real ESO runs beside it in the test clusters and owns every other store.
   */
  controllerClass?: string;
  /** How long a new store stays unvalidated (its ExternalSecrets fail "... is not ready"). */
  storeValidationDelayMs?: number;
}

export interface EsoStandin {
  /** Provider reads performed (one per sync). */
  readonly stats: { syncs: number; secretWrites: number };
  stop(): Promise<void>;
}

const ES = { group: 'external-secrets.io', version: 'v1', plural: 'externalsecrets', kind: 'ExternalSecret' };
const CES = {
  group: 'external-secrets.io',
  version: 'v1',
  plural: 'clusterexternalsecrets',
  kind: 'ClusterExternalSecret',
};
const STORES = {
  SecretStore: { group: 'external-secrets.io', version: 'v1', plural: 'secretstores', kind: 'SecretStore' },
  ClusterSecretStore: {
    group: 'external-secrets.io',
    version: 'v1',
    plural: 'clustersecretstores',
    kind: 'ClusterSecretStore',
  },
} as const;
/** What the real ESO (v2.9.0 observed, v0.16.2 source) does, as data (REFERENCE.md 2a). */
export const ESO_BEHAVIOUR = {
  component: 'external-secrets',
  finalizer: 'externalsecrets.external-secrets.io/externalsecret-cleanup',
  ready: { reason: 'SecretSynced', message: 'secret synced' },
  failed: { reason: 'SecretSyncedError', message: 'could not get secret data from provider' },
  events: {
    created: { reason: 'Created', message: 'secret created' },
    updated: { reason: 'Updated', message: 'secret updated' },
    failed: 'UpdateFailed',
  },
  /** How a provider error of spec.data[i] reads in the UpdateFailed event. */
  dataError: (i: number, key: string, err: string) =>
    `error processing spec.data[${i}] (key: ${key}), err: ${err}`,
  /** controller-runtime's default rate limiter: 5 ms doubling, up to 1000 s. */
  errorBackoff: { initialMs: 5, maxMs: 1_000_000 },
  /** The SecretStore controller's verdict on a store it could build a client for. */
  storeValid: { reason: 'Valid', message: 'store validated', capabilities: 'ReadWrite' },
  /** The flood gate (on by default): a store whose Ready is not True serves no ExternalSecret. */
  storeNotReady: (kind: string, name: string) => `${kind} "${name}" is not ready`,
  /** The ClusterExternalSecret controller's finalizers: on the CES, and on each provisioned Namespace. */
  cesFinalizer: 'externalsecrets.external-secrets.io/clusterexternalsecret-cleanup',
  namespaceFinalizer: (ces: string) => `externalsecrets.external-secrets.io/ces-${ces}`,
};

const COMPONENT = ESO_BEHAVIOUR.component;
const LABEL_MANAGED = 'reconcile.external-secrets.io/managed';
const LABEL_OWNER = 'reconcile.external-secrets.io/created-by';
const ANNOTATION_DATA_HASH = 'reconcile.external-secrets.io/data-hash';
const ANNOTATION_FORCE_SYNC = 'external-secrets.io/force-sync';
const DEFAULT_REFRESH = '1h0m0s';
const MSG_PROVIDER = ESO_BEHAVIOUR.failed.message;
const MSG_UPDATE = 'could not update Secret';

interface StoreRef {
  kind?: string;
  name?: string;
}

interface EsSpec {
  secretStoreRef?: StoreRef;
  refreshInterval?: string;
  refreshPolicy?: 'CreatedOnce' | 'Periodic' | 'OnChange';
  target?: { name?: string; creationPolicy?: string; deletionPolicy?: string; immutable?: boolean };
  data?: Array<{ secretKey: string; remoteRef: RemoteRef; sourceRef?: { storeRef?: StoreRef } }>;
  dataFrom?: Array<{ extract?: RemoteRef; find?: FindRef; sourceRef?: { storeRef?: StoreRef } }>;
}

interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
  lastTransitionTime: string;
}

interface StoreObject extends StandinObject {
  spec: { provider: ResolvedStore['provider']; controller?: string };
  status?: { conditions?: Array<{ type: string; status: string }> };
}

type Es = StandinObject & {
  metadata: { finalizers?: string[] };
  spec: EsSpec;
  status?: { conditions?: Condition[]; refreshTime?: string; syncedResourceVersion?: string };
};

class SyncError extends Error {
  constructor(
    readonly conditionMessage: string,
    original: unknown,
  ) {
    super(original instanceof Error ? original.message : String(original), { cause: original });
  }
}

/** ESO SetExternalSecretCondition: unchanged status keeps its lastTransitionTime. */
function withCondition(conditions: Condition[] | undefined, next: Condition): Condition[] {
  const current = (conditions ?? []).find((c) => c.type === next.type);
  const merged =
    current && current.status === next.status
      ? { ...next, lastTransitionTime: current.lastTransitionTime }
      : next;
  return [...(conditions ?? []).filter((c) => c.type !== next.type), merged];
}

function refreshMs(spec: EsSpec): number {
  return parseGoDuration(spec.refreshInterval ?? DEFAULT_REFRESH) ?? 3_600_000;
}

/** ESO externalsecret controller `shouldRefresh`. */
export function shouldRefresh(es: Es, now = Date.now()): boolean {
  const synced = es.status?.syncedResourceVersion ?? '';
  const refreshTime = es.status?.refreshTime;
  const current = esoResourceVersion(es.metadata);
  switch (es.spec.refreshPolicy) {
    case 'CreatedOnce':
      return synced === '' || !refreshTime;
    case 'OnChange':
      return synced === '' || !refreshTime || synced !== current;
    default: {
      const interval = refreshMs(es.spec);
      if (interval === 0 && synced !== '') return false;
      if (synced !== current) return true;
      if (!refreshTime) return true;
      return new Date(refreshTime).getTime() + interval < now;
    }
  }
}

function decode(data: Record<string, string> | undefined): Record<string, Buffer> {
  return Object.fromEntries(Object.entries(data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')]));
}

function encode(data: Record<string, Buffer>): Record<string, string> {
  return Object.fromEntries(Object.entries(data).map(([k, v]) => [k, v.toString('base64')]));
}

interface ExistingSecret {
  metadata?: {
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    uid?: string;
    resourceVersion?: string;
  };
  data?: Record<string, string>;
  type?: string;
}

/** ESO isSecretValid: exists, is managed, and its data matches the data-hash annotation. */
function isSecretValid(secret: ExistingSecret | undefined): boolean {
  if (!secret?.metadata?.uid) return false;
  if (secret.metadata.labels?.[LABEL_MANAGED] !== 'true') return false;
  return secret.metadata.annotations?.[ANNOTATION_DATA_HASH] === esoDataHash(decode(secret.data));
}

class EsoController {
  readonly stats = { syncs: 0, secretWrites: 0 };
  readonly esQueue = new WorkQueue(
    (key) => this.reconcileEs(key),
    () => {},
    ESO_BEHAVIOUR.errorBackoff,
  );
  readonly cesQueue = new WorkQueue((key) => this.reconcileCes(key));
  readonly storeQueue = new WorkQueue((key) => this.reconcileStore(key));
  readonly cache = new EsoCache<Es, StoreObject>((key) => this.esQueue.enqueue(key));
  private readonly keyVault: (vaultUrl: string) => SecretClient;

  constructor(
    readonly kube: StandinKube,
    readonly opts: EsoStandinOptions,
  ) {
    this.keyVault = opts.keyVault
      ? keyVaultClientFactory(opts.keyVault)
      : () => {
          throw new Error('the ESO stand-in was started without Key Vault access');
        };
  }

  private async getEs(namespace: string, name: string): Promise<Es | undefined> {
    try {
      return (await this.kube.custom.getNamespacedCustomObject({ ...ES, namespace, name })) as Es;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  private async getSecret(namespace: string, name: string): Promise<ExistingSecret | undefined> {
    try {
      return (await this.kube.core.readNamespacedSecret({ namespace, name })) as ExistingSecret;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async reconcileEs(key: string): Promise<number | undefined> {
    const { namespace, name } = splitKey(key);
    const es = this.cache.externalSecret(key);
    if (!es) {
      this.esQueue.forget(key);
      return undefined;
    }
    if (this.unmanaged(es, key)) return undefined;
    if (es.metadata.deletionTimestamp) {
      const rest = (es.metadata.finalizers ?? []).filter((f) => f !== ESO_BEHAVIOUR.finalizer);
      if (rest.length !== (es.metadata.finalizers ?? []).length) await this.setFinalizers(ES, es, rest);
      return undefined;
    }
    if (!es.metadata.finalizers?.includes(ESO_BEHAVIOUR.finalizer)) await this.addFinalizer(es);
    const start = new Date();
    const interval = refreshMs(es.spec);
    const periodic = (es.spec.refreshPolicy ?? 'Periodic') === 'Periodic' && interval > 0;
    const secretName = es.spec.target?.name || name;
    const existing = await this.getSecret(namespace, secretName);
    if (!shouldRefresh(es) && isSecretValid(existing)) {
      if (!periodic || !es.status?.refreshTime) return undefined;
      const since = Date.now() - new Date(es.status.refreshTime).getTime();
      // ESO requeues at the remaining interval plus 5 s; an earlier pending requeue wins.
      return Math.max(interval - since, 0) + 5_000;
    }
    const synced = es.status?.conditions?.some((c) => c.reason === 'SecretSynced');
    if (es.spec.target?.immutable && synced) return undefined;

    try {
      this.stats.syncs++;
      const data = await this.providerData(es).catch((error: unknown) => {
        throw new SyncError(MSG_PROVIDER, error);
      });
      await this.writeSecret(es, secretName, existing, data).catch((error: unknown) => {
        throw error instanceof SyncError ? error : new SyncError(MSG_UPDATE, error);
      });
    } catch (error) {
      const failure = error instanceof SyncError ? error : new SyncError(MSG_PROVIDER, error);
      await recordEvent(this.kube, es, 'Warning', ESO_BEHAVIOUR.events.failed, failure.message, COMPONENT);
      const current = es.status?.conditions?.find((c) => c.type === 'Ready');
      const same =
        current?.status === 'False' &&
        current.reason === ESO_BEHAVIOUR.failed.reason &&
        current.message === failure.conditionMessage;
      // A failure that repeats with the same message changes nothing: no status is written.
      if (!same) {
        await this.patchStatus(es, {
          conditions: withCondition(es.status?.conditions, {
            type: 'Ready',
            status: 'False',
            reason: ESO_BEHAVIOUR.failed.reason,
            message: failure.conditionMessage,
            lastTransitionTime: metaTime(new Date()),
          }),
          binding: { name: '' },
          refreshTime: null,
        });
      }
      throw failure;
    }
    await this.patchStatus(es, {
      conditions: withCondition(es.status?.conditions, {
        type: 'Ready',
        status: 'True',
        ...ESO_BEHAVIOUR.ready,
        lastTransitionTime: metaTime(new Date()),
      }),
      refreshTime: metaTime(start),
      syncedResourceVersion: esoResourceVersion(es.metadata),
      ...(es.spec.target?.creationPolicy === 'None' ? {} : { binding: { name: secretName } }),
    });
    return periodic ? interval : undefined;
  }

  /**
   * ESO shouldSkipUnmanagedStore, strict: only stores naming the stand-in's class are its own.
   * A store not (yet) in the cache is not known to be its own: the ExternalSecret is
   * reconciled again when the store arrives (ESO retries it with backoff instead).
   */
  private unmanaged(es: Es, key: string): boolean {
    const refs = [
      es.spec.secretStoreRef,
      ...(es.spec.data ?? []).map((d) => d.sourceRef?.storeRef),
      ...(es.spec.dataFrom ?? []).map((d) => d.sourceRef?.storeRef),
    ];
    for (const ref of refs) {
      if (!ref?.name) continue;
      const store = this.cache.store(ref, es);
      if (!store) this.cache.awaitStore(ref, es, key);
      if ((store?.spec?.controller ?? '') !== (this.opts.controllerClass ?? STANDIN_CONTROLLER_CLASS))
        return true;
    }
    return false;
  }

  private async patchStatus(es: Es, status: Record<string, unknown>): Promise<void> {
    await this.kube.custom.patchNamespacedCustomObjectStatus(
      { ...ES, namespace: es.metadata.namespace as string, name: es.metadata.name, body: { status } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
  }

  private async store(ref: StoreRef | undefined, es: Es): Promise<ResolvedStore> {
    const chosen = ref?.name ? ref : es.spec.secretStoreRef;
    if (!chosen?.name) throw new Error('no secretStoreRef');
    const kind = chosen.kind === 'ClusterSecretStore' ? 'ClusterSecretStore' : 'SecretStore';
    const obj = this.cache.store(chosen, es);
    if (!obj) throw new Error(`could not get store ${kind} ${chosen.name}: not found`);
    const ready = obj.status?.conditions?.find((c) => c.type === 'Ready');
    if (ready?.status !== 'True') throw new Error(ESO_BEHAVIOUR.storeNotReady(kind, chosen.name));
    return { kind, name: chosen.name, provider: obj.spec.provider };
  }

  /** ESO getProviderSecretData: dataFrom first, then data entries override. */
  private async providerData(es: Es): Promise<Record<string, Buffer>> {
    const clients = new Map<string, Promise<ProviderClient>>();
    const clientFor = (ref: StoreRef | undefined): Promise<ProviderClient> => {
      const k = `${ref?.kind ?? ''}/${ref?.name ?? ''}`;
      let c = clients.get(k);
      if (!c) {
        c = this.store(ref, es).then((store) =>
          providerClient(store, {
            kube: this.kube,
            namespace: es.metadata.namespace as string,
            keyVault: this.keyVault,
            vault: this.opts.vault ?? { token: '' },
          }),
        );
        clients.set(k, c);
      }
      return c;
    };
    const out: Record<string, Buffer> = {};
    for (const entry of es.spec.dataFrom ?? []) {
      const client = await clientFor(entry.sourceRef?.storeRef);
      if (entry.extract) Object.assign(out, await client.getSecretMap(entry.extract));
      if (entry.find) Object.assign(out, await client.getAllSecrets(entry.find));
    }
    for (const [i, entry] of (es.spec.data ?? []).entries()) {
      out[entry.secretKey] = await clientFor(entry.sourceRef?.storeRef)
        .then((client) => client.getSecret(entry.remoteRef))
        .catch((error: unknown) => {
          const err = error instanceof Error ? error.message : String(error);
          throw new Error(ESO_BEHAVIOUR.dataError(i, entry.remoteRef.key, err), { cause: error });
        });
    }
    return out;
  }

  private async writeSecret(
    es: Es,
    secretName: string,
    existing: ExistingSecret | undefined,
    data: Record<string, Buffer>,
  ): Promise<void> {
    const namespace = es.metadata.namespace as string;
    const policy = es.spec.target?.creationPolicy ?? 'Owner';
    if (policy === 'None') return;
    if (Object.keys(data).length === 0 && (es.spec.target?.deletionPolicy ?? 'Retain') === 'Retain') return;
    if (policy === 'Merge' && !existing) {
      throw new SyncError(
        MSG_UPDATE,
        new Error(
          `the desired secret ${secretName} was not found. With creationPolicy=Merge the secret won't be created`,
        ),
      );
    }
    const finalData = policy === 'Merge' ? { ...decode(existing?.data), ...data } : data;
    const encoded = encode(finalData);
    // ESO copies the ExternalSecret's own labels and annotations (a force-sync annotation
    // too) onto the Secret, so every forced sync rewrites it with a new resourceVersion.
    const labels: Record<string, string> = {
      ...(existing?.metadata?.labels ?? {}),
      ...(es.metadata.labels ?? {}),
      [LABEL_MANAGED]: 'true',
    };
    if (policy === 'Owner') labels[LABEL_OWNER] = objectHash(`${namespace}/${es.metadata.name}`);
    const annotations = {
      ...(existing?.metadata?.annotations ?? {}),
      ...(es.metadata.annotations ?? {}),
      [ANNOTATION_DATA_HASH]: esoDataHash(finalData),
    };
    const ownerReferences =
      policy === 'Owner'
        ? [
            {
              apiVersion: `${ES.group}/${ES.version}`,
              kind: ES.kind,
              name: es.metadata.name,
              uid: es.metadata.uid as string,
              controller: true,
              blockOwnerDeletion: true,
            },
          ]
        : undefined;
    const body = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: secretName,
        namespace,
        labels,
        annotations,
        ...(ownerReferences ? { ownerReferences } : {}),
        ...(existing?.metadata?.resourceVersion
          ? { resourceVersion: existing.metadata.resourceVersion }
          : {}),
      },
      type: existing?.type ?? 'Opaque',
      data: encoded,
      immutable: es.spec.target?.immutable ?? false,
    };
    this.stats.secretWrites++;
    const { created, updated } = ESO_BEHAVIOUR.events;
    if (existing) await this.kube.core.replaceNamespacedSecret({ namespace, name: secretName, body });
    else await this.kube.core.createNamespacedSecret({ namespace, body });
    const event = existing ? updated : created;
    // client-go's recorder sends events from its own goroutine: the status write that
    // follows does not wait for it.
    void recordEvent(this.kube, es, 'Normal', event.reason, event.message, COMPONENT);
  }

  /** ESO adds its cleanup finalizer before the first sync. */
  private async addFinalizer(es: Es): Promise<void> {
    const finalizers = [...(es.metadata.finalizers ?? []), ESO_BEHAVIOUR.finalizer];
    const patched = (await this.kube.custom.patchNamespacedCustomObject(
      {
        ...ES,
        namespace: es.metadata.namespace as string,
        name: es.metadata.name,
        body: { metadata: { finalizers, resourceVersion: es.metadata.resourceVersion } },
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    )) as Es;
    es.metadata = patched.metadata;
  }

  /**
   * ESO's SecretStore controller: a store of its class whose client can be built gets Ready
   * True Valid "store validated" and a Normal Valid event (the stand-in validates each store
   * `storeValidationDelayMs` after it first sees it; until then the flood gate holds).
   */
  async reconcileStore(key: string): Promise<number | undefined> {
    const [kind, rest] = key.split(':') as [keyof typeof STORES, string];
    const { namespace, name } = splitKey(rest);
    const gvr = STORES[kind];
    const store = this.cache.storeByKey(key);
    if (!store) return undefined;
    if ((store.spec.controller ?? '') !== (this.opts.controllerClass ?? STANDIN_CONTROLLER_CLASS))
      return undefined;
    if (store.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) return undefined;
    const { reason, message, capabilities } = ESO_BEHAVIOUR.storeValid;
    const body = {
      status: {
        capabilities,
        conditions: [
          { type: 'Ready', status: 'True', reason, message, lastTransitionTime: metaTime(new Date()) },
        ],
      },
    };
    const options = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
    if (namespace)
      await this.kube.custom.patchNamespacedCustomObjectStatus({ ...gvr, namespace, name, body }, options);
    else await this.kube.custom.patchClusterCustomObjectStatus({ ...gvr, name, body }, options);
    await recordEvent(this.kube, store, 'Normal', reason, message, COMPONENT);
    return undefined;
  }

  async reconcileCes(name: string): Promise<number | undefined> {
    let ces: StandinObject;
    try {
      ces = (await this.kube.custom.getClusterCustomObject({ ...CES, name })) as StandinObject;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
    const spec = (ces.spec ?? {}) as {
      externalSecretName?: string;
      externalSecretSpec?: EsSpec;
      externalSecretMetadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
      namespaces?: string[];
      namespaceSelectors?: LabelSelector[];
      namespaceSelector?: LabelSelector;
      refreshTime?: string;
    };
    const esName = spec.externalSecretName || name;
    const namespaces = await this.cesNamespaces(spec);
    // Only CESs selecting a namespace of this stand-in's scope are its own.
    if (namespaces.length === 0) return undefined;
    const finalizers = ces.metadata.finalizers ?? [];
    if (ces.metadata.deletionTimestamp) {
      await this.cleanUpCes(ces, esName);
      return undefined;
    }
    if (!finalizers.includes(ESO_BEHAVIOUR.cesFinalizer)) {
      // ESO 2.x returns after adding it; the update brings the next reconcile.
      await this.setFinalizers(CES, ces, [...finalizers, ESO_BEHAVIOUR.cesFinalizer]);
      return undefined;
    }
    for (const namespace of namespaces) {
      await this.namespaceFinalizer(namespace, name, true);
      const annotations = { ...(spec.externalSecretMetadata?.annotations ?? {}) };
      const force = ces.metadata.annotations?.[ANNOTATION_FORCE_SYNC];
      if (force !== undefined) annotations[ANNOTATION_FORCE_SYNC] = force;
      else delete annotations[ANNOTATION_FORCE_SYNC];
      const body: Record<string, unknown> = {
        apiVersion: `${ES.group}/${ES.version}`,
        kind: ES.kind,
        metadata: {
          name: esName,
          namespace,
          labels: spec.externalSecretMetadata?.labels ?? {},
          annotations,
          ownerReferences: [
            {
              apiVersion: `${CES.group}/${CES.version}`,
              kind: CES.kind,
              name,
              uid: ces.metadata.uid,
              controller: true,
              blockOwnerDeletion: true,
            },
          ],
        },
        spec: spec.externalSecretSpec ?? {},
      };
      const current = await this.getEs(namespace, esName);
      if (current) {
        (body.metadata as Record<string, unknown>).resourceVersion = current.metadata.resourceVersion;
        await this.kube.custom.replaceNamespacedCustomObject({ ...ES, namespace, name: esName, body });
      } else await this.kube.custom.createNamespacedCustomObject({ ...ES, namespace, body });
    }
    await this.kube.custom.patchClusterCustomObjectStatus(
      {
        ...CES,
        name,
        body: {
          status: {
            externalSecretName: esName,
            provisionedNamespaces: namespaces,
            // ESO's CES condition carries no lastTransitionTime.
            conditions: [{ type: 'Ready', status: 'True' }],
          },
        },
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    return parseGoDuration(spec.refreshTime ?? '1m') ?? 60_000;
  }

  /** Deletion: each provisioned namespace loses the CES's finalizer and its ExternalSecret, then the CES its own. */
  private async cleanUpCes(ces: StandinObject, esName: string): Promise<void> {
    const provisioned = (ces.status?.provisionedNamespaces as string[] | undefined) ?? [];
    for (const namespace of provisioned) {
      await this.namespaceFinalizer(namespace, ces.metadata.name, false);
      const child = await this.getEs(namespace, esName);
      if (child?.metadata.ownerReferences?.some((o) => o.kind === CES.kind && o.name === ces.metadata.name)) {
        await this.kube.custom
          .deleteNamespacedCustomObject({ ...ES, namespace, name: esName })
          .catch((error) => {
            if (!isNotFound(error)) throw error;
          });
      }
    }
    const rest = (ces.metadata.finalizers ?? []).filter((f) => f !== ESO_BEHAVIOUR.cesFinalizer);
    await this.setFinalizers(CES, ces, rest);
  }

  /** `externalsecrets.external-secrets.io/ces-<name>` on a Namespace the CES provisions into. */
  private async namespaceFinalizer(namespace: string, ces: string, present: boolean): Promise<void> {
    const finalizer = ESO_BEHAVIOUR.namespaceFinalizer(ces);
    const ns = await this.kube.core.readNamespace({ name: namespace });
    const current = ns.metadata?.finalizers ?? [];
    if (current.includes(finalizer) === present) return;
    const finalizers = present ? [...current, finalizer] : current.filter((f) => f !== finalizer);
    await this.kube.core.patchNamespace(
      { name: namespace, body: { metadata: { finalizers, resourceVersion: ns.metadata?.resourceVersion } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
  }

  private async setFinalizers(
    gvr: typeof CES | typeof ES,
    obj: StandinObject,
    finalizers: string[],
  ): Promise<void> {
    const body = { metadata: { finalizers, resourceVersion: obj.metadata.resourceVersion } };
    const options = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
    const { namespace, name } = obj.metadata;
    if (namespace)
      await this.kube.custom.patchNamespacedCustomObject({ ...gvr, namespace, name, body }, options);
    else await this.kube.custom.patchClusterCustomObject({ ...gvr, name, body }, options);
  }

  private async cesNamespaces(spec: {
    namespaces?: string[];
    namespaceSelectors?: LabelSelector[];
    namespaceSelector?: LabelSelector;
  }): Promise<string[]> {
    const selectors = [
      ...(spec.namespaceSelectors ?? []),
      ...(spec.namespaceSelector ? [spec.namespaceSelector] : []),
    ];
    const candidates = this.opts.namespaces
      ? await Promise.all(
          this.opts.namespaces.map((name) => this.kube.core.readNamespace({ name }).catch(() => undefined)),
        )
      : (await this.kube.core.listNamespace()).items;
    const chosen = new Set<string>();
    for (const ns of candidates) {
      const nsName = ns?.metadata?.name;
      if (!nsName) continue;
      if (
        spec.namespaces?.includes(nsName) ||
        selectors.some((s) => selectorMatches(s, ns?.metadata?.labels ?? {}))
      )
        chosen.add(nsName);
    }
    return [...chosen].sort();
  }
}

interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: Array<{ key: string; operator: string; values?: string[] }>;
}

function selectorMatches(s: LabelSelector, labels: Record<string, string>): boolean {
  const byLabel = Object.entries(s.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
  const byExpr = (s.matchExpressions ?? []).every((e) => {
    const has = Object.hasOwn(labels, e.key);
    const v = labels[e.key];
    if (e.operator === 'In') return has && (e.values ?? []).includes(v as string);
    if (e.operator === 'NotIn') return !has || !(e.values ?? []).includes(v as string);
    if (e.operator === 'Exists') return has;
    if (e.operator === 'DoesNotExist') return !has;
    return false;
  });
  return byLabel && byExpr;
}

/** Starts the ESO stand-in; resolves once its informers have listed. */
export async function startEsoStandin(opts: EsoStandinOptions): Promise<EsoStandin> {
  const controller = new EsoController(standinKube(opts.kubeconfig), opts);
  // Stores first: ExternalSecrets that exist at start find theirs validated.
  const validateAfter = opts.storeValidationDelayMs ?? 0;
  let listed: string[] | undefined = [];
  const storeHandlers = (kind: keyof typeof STORES) => ({
    upsert: (store: StandinObject) => {
      const key = `${kind}:${objectKey(store)}`;
      controller.cache.setStore(key, store as StoreObject);
      if (listed && validateAfter === 0) listed.push(key);
      else controller.storeQueue.enqueue(key, validateAfter);
    },
    remove: (store: StandinObject) => {
      controller.cache.deleteStore(`${kind}:${objectKey(store)}`);
      controller.storeQueue.forget(`${kind}:${objectKey(store)}`);
    },
  });
  const stopStores = await startInformers<StandinObject>(
    controller.kube,
    STORES.SecretStore,
    opts.namespaces,
    storeHandlers('SecretStore'),
  );
  const stopClusterStores = await startInformers<StandinObject>(
    controller.kube,
    STORES.ClusterSecretStore,
    undefined,
    storeHandlers('ClusterSecretStore'),
    true,
  );
  await Promise.all(
    (listed ?? []).map((key) =>
      controller.reconcileStore(key).catch(() => controller.storeQueue.enqueue(key)),
    ),
  );
  listed = undefined;
  const stopEs = await startInformers<Es>(controller.kube, ES, opts.namespaces, {
    upsert: (es) => {
      controller.cache.setExternalSecret(es);
      controller.esQueue.enqueue(objectKey(es));
    },
    remove: (es) => {
      controller.cache.deleteExternalSecret(es);
      controller.esQueue.forget(objectKey(es));
    },
  });
  const stopCes = await startInformers<StandinObject>(
    controller.kube,
    CES,
    undefined,
    {
      upsert: (ces) => controller.cesQueue.enqueue(ces.metadata.name),
      remove: (ces) => controller.cesQueue.forget(ces.metadata.name),
    },
    true,
  );
  return {
    stats: controller.stats,
    async stop() {
      await Promise.all([stopEs(), stopCes(), stopStores(), stopClusterStores()]);
      await Promise.all([
        controller.esQueue.stop(),
        controller.cesQueue.stop(),
        controller.storeQueue.stop(),
      ]);
    },
  };
}
