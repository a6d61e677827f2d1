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
 *  - ClusterExternalSecret: provisions ExternalSecrets in matching namespaces and copies
 *    only the `external-secrets.io/force-sync` annotation from itself to them.
 * Not reproduced: templates, generators, push secrets, store validation, sync windows,
 * ESO's Secret watch (drift repair).
 */
import type { SecretClient } from '@azure/keyvault-secrets';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { parseGoDuration } from '../../lib/kube/duration.js';
import { STANDIN_CONTROLLER_CLASS } from '../env/eso.js';
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
    const es = await this.getEs(namespace, name);
    if (!es) {
      this.esQueue.forget(key);
      return undefined;
    }
    if (await this.unmanaged(es)) return undefined;
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

  /** ESO shouldSkipUnmanagedStore, strict: only stores naming the stand-in's class are its own. */
  private async unmanaged(es: Es): Promise<boolean> {
    const refs = [
      es.spec.secretStoreRef,
      ...(es.spec.data ?? []).map((d) => d.sourceRef?.storeRef),
      ...(es.spec.dataFrom ?? []).map((d) => d.sourceRef?.storeRef),
    ];
    for (const ref of refs) {
      if (!ref?.name) continue;
      const store = await this.storeObject(ref, es).catch(() => undefined);
      if ((store?.spec?.controller ?? '') !== (this.opts.controllerClass ?? STANDIN_CONTROLLER_CLASS))
        return true;
    }
    return false;
  }

  private async storeObject(
    ref: StoreRef,
    es: Es,
  ): Promise<{ spec: { provider: ResolvedStore['provider']; controller?: string } }> {
    const kind = ref.kind === 'ClusterSecretStore' ? 'ClusterSecretStore' : 'SecretStore';
    const obj =
      kind === 'ClusterSecretStore'
        ? await this.kube.custom.getClusterCustomObject({
            group: ES.group,
            version: ES.version,
            plural: 'clustersecretstores',
            name: ref.name as string,
          })
        : await this.kube.custom.getNamespacedCustomObject({
            group: ES.group,
            version: ES.version,
            plural: 'secretstores',
            namespace: es.metadata.namespace as string,
            name: ref.name as string,
          });
    return obj as { spec: { provider: ResolvedStore['provider']; controller?: string } };
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
    try {
      return { kind, name: chosen.name, provider: (await this.storeObject(chosen, es)).spec.provider };
    } catch (error) {
      if (isNotFound(error)) throw new Error(`could not get store ${kind} ${chosen.name}: not found`);
      throw error;
    }
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
      const client = await clientFor(entry.sourceRef?.storeRef);
      out[entry.secretKey] = await client.getSecret(entry.remoteRef).catch((error: unknown) => {
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
    await recordEvent(this.kube, es, 'Normal', event.reason, event.message, COMPONENT);
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
    if (namespaces.length === 0) return undefined;
    for (const namespace of namespaces) {
      const annotations = { ...(spec.externalSecretMetadata?.annotations ?? {}) };
      const force = ces.metadata.annotations?.[ANNOTATION_FORCE_SYNC];
      if (force !== undefined) annotations[ANNOTATION_FORCE_SYNC] = force;
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
            conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: metaTime(new Date()) }],
          },
        },
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    return parseGoDuration(spec.refreshTime ?? '1m') ?? 60_000;
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
  const stopEs = await startInformers<Es>(controller.kube, ES, opts.namespaces, {
    upsert: (es) => controller.esQueue.enqueue(objectKey(es)),
    remove: (es) => controller.esQueue.forget(objectKey(es)),
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
      await Promise.all([stopEs(), stopCes()]);
      await Promise.all([controller.esQueue.stop(), controller.cesQueue.stop()]);
    },
  };
}
