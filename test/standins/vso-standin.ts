/**
 * STAND-IN for Vault Secrets Operator (v1.4.1, secrets.hashicorp.com/v1beta1): a TEST
 * DOUBLE, not VSO. VSO is not served as a Go module here, so this small controller
 * reproduces what the real VSO was observed to do (REFERENCE.md section 2a) against the
 * real API server and the real OpenBao, for VaultStaticSecret only. Every observed fact is
 * a value of VSO_BEHAVIOUR below, so a later check against the real operator adjusts data,
 * not code; test/integration/standins/vso-standin.test.ts holds one test per behaviour.
 *  - first reconcile: adds its finalizer through a full Update that also writes
 *    spec.destination.transformation: {} (generation 1 → 2: the object syncs twice);
 *  - reconciles on create and on generation, label or annotation changes; polls at
 *    refreshAfter minus 10–20 % jitter (hmacSecretData without refreshAfter: 60 s minus
 *    the same); after an error, per-object backoff from 5 s;
 *  - reads kv-v2 `<mount>/data/<path>` (or kv-v1); the Secret holds every field plus `_raw`;
 *    VSO's 4 labels, an owner reference without `controller: true`;
 *  - HMACs the data (status.secretMAC) and does not rewrite an unchanged Secret;
 *  - conditions: Ready reason `Ready`, message `VaultStaticSecretReady` even when False;
 *    SecretSynced reason `Synced`, "Secret synced, horizon=<d>" or "Failed to sync the
 *    secret, horizon=<d>, err=<error>" (the error is only there), untouched when nothing
 *    is written; Healthy/Unhealthy; Ready's lastTransitionTime renewed on every success;
 *    lastGeneration set also on failure; status.vaultClientMeta {cacheKey, id};
 *  - events: Normal SecretSynced only when it writes the Secret; Warning VaultClientError
 *    on a Vault error; a status update conflict records Warning StatusUpdateError "... the
 *    object has been modified ..." and does NOT requeue (the conflicting write triggers
 *    the next reconcile); client-go's spam limit of ~25 events per object (standin-kube).
 *  - keeps its HMAC key in the immutable Secret vso-cc-storage-hmac-key (16 bytes, field
 *    `key`, VSO's labels) in its namespace, created at start when missing, reused after.
 * Not reproduced: the operator's own Vault login (it uses the token it is given),
 * rolloutRestartTargets, transformations, instantUpdates, dynamic/PKI.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { parseGoDuration } from '../../lib/kube/duration.js';
import { backendMessage, type VaultAccess, vaultClient } from './standin-backends.js';
import {
  isConflict,
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

export interface VsoStandinOptions {
  /** Admin kubeconfig YAML: the stand-in acts as the operator. */
  kubeconfig: string;
  vault: VaultAccess;
  /** Where the `default` VaultAuth/VaultConnection live (VSO's own namespace). */
  operatorNamespace?: string;
  namespaces?: readonly string[];
}

export interface VsoStandin {
  readonly stats: { syncs: number; secretWrites: number; statusConflicts: number };
  stop(): Promise<void>;
}

const VSS = {
  group: 'secrets.hashicorp.com',
  version: 'v1beta1',
  plural: 'vaultstaticsecrets',
  kind: 'VaultStaticSecret',
};
/** What the real VSO v1.4.1 does, as data (REFERENCE.md 2a). */
export const VSO_BEHAVIOUR = {
  component: 'VaultStaticSecret',
  finalizer: 'vaultstaticsecret.secrets.hashicorp.com/finalizer',
  ready: { reason: 'Ready', message: 'VaultStaticSecretReady' },
  synced: {
    reason: 'Synced',
    ok: (horizon: string) => `Secret synced, horizon=${horizon}`,
    failed: (horizon: string, err: string) => `Failed to sync the secret, horizon=${horizon}, err=${err}`,
  },
  healthy: {
    true: { reason: 'Healthy', message: 'VaultStaticSecretHealthy' },
    false: { reason: 'Unhealthy', message: 'VaultStaticSecretUnhealthy' },
  },
  events: {
    synced: { reason: 'SecretSynced', message: 'Secret synced' },
    vaultError: 'VaultClientError',
    conflict: 'StatusUpdateError',
  },
  conflictMessage: (name: string) =>
    `Operation cannot be fulfilled on vaultstaticsecrets.secrets.hashicorp.com "${name}": the object has been modified; please apply your changes to the latest version and try again`,
  /** Missing KV secret: VSO's client gets no data back. */
  emptyResponse: (path: string) => `empty response from Vault, path="${path}"`,
  /** The next poll comes at horizon·(1 − jitter), jitter uniform in [min, max). */
  jitter: { min: 0.1, max: 0.2 },
  hmacDefaultHorizonMs: 60_000,
  /** Per-object error backoff (doubling; the cap is an assumption). */
  errorBackoff: { initialMs: 5_000, maxMs: 300_000 },
  labels: {
    'app.kubernetes.io/component': 'secret-sync',
    'app.kubernetes.io/managed-by': 'hashicorp-vso',
    'app.kubernetes.io/name': 'vault-secrets-operator',
  },
  ownerLabel: 'secrets.hashicorp.com/vso-ownerRefUID',
  /**
   * The client-cache storage HMAC key: an immutable Secret in the operator's namespace,
   * created at start when missing and reused after a restart; status.secretMAC is
   * HMAC-SHA256 with it.
   */
  hmacKeySecret: {
    name: 'vso-cc-storage-hmac-key',
    field: 'key',
    keyLength: 16,
    labels: {
      'app.kubernetes.io/name': 'vault-secrets-operator',
      'app.kubernetes.io/managed-by': 'hashicorp-vso',
      'app.kubernetes.io/component': 'client-cache-storage-verification',
    },
  },
};

/** Reads the HMAC key Secret, or creates it (and the operator's namespace, as its install would). */
async function hmacKeyOf(kube: StandinKube, namespace: string): Promise<Buffer> {
  const { name, field, keyLength, labels } = VSO_BEHAVIOUR.hmacKeySecret;
  for (;;) {
    try {
      const secret = await kube.core.readNamespacedSecret({ namespace, name });
      const key = Buffer.from(secret.data?.[field] ?? '', 'base64');
      if (key.length !== keyLength) throw new Error(`invalid key length ${key.length}`);
      return key;
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
    await kube.core.readNamespace({ name: namespace }).catch(async (error: unknown) => {
      if (!isNotFound(error)) throw error;
      await kube.core.createNamespace({ body: { metadata: { name: namespace } } }).catch((e: unknown) => {
        if (!isConflict(e)) throw e;
      });
    });
    const key = randomBytes(keyLength);
    try {
      await kube.core.createNamespacedSecret({
        namespace,
        body: { metadata: { name, labels }, immutable: true, data: { [field]: key.toString('base64') } },
      });
      return key;
    } catch (error) {
      // Another instance created it meanwhile: read theirs.
      if (!isConflict(error)) throw error;
    }
  }
}

const COMPONENT = VSO_BEHAVIOUR.component;
const OWNER_LABEL = VSO_BEHAVIOUR.ownerLabel;

/** Go's time.Duration.String(): 48m35.123456789s, 5s, 1h0m0s. */
export function goDuration(ms: number): string {
  if (ms === 0) return '0s';
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const sec = (ms % 60_000) / 1000;
  const s = `${Number.isInteger(sec) ? sec : sec.toFixed(3).replace(/0+$/, '')}s`;
  if (h > 0) return `${h}h${m}m${s}`;
  if (m > 0) return `${m}m${s}`;
  return s;
}

/** VSO's poll delay for a horizon: minus 10–20 % jitter. */
export function jittered(horizonMs: number, random = Math.random): number {
  const { min, max } = VSO_BEHAVIOUR.jitter;
  return Math.round(horizonMs * (1 - (min + (max - min) * random())));
}

interface VssSpec {
  mount: string;
  path: string;
  type: 'kv-v1' | 'kv-v2';
  version?: number;
  namespace?: string;
  vaultAuthRef?: string;
  refreshAfter?: string;
  hmacSecretData?: boolean;
  destination: {
    name: string;
    create?: boolean;
    overwrite?: boolean;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    type?: string;
  };
}

interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration?: number;
}

type Vss = StandinObject & {
  metadata: { finalizers?: string[] };
  spec: VssSpec;
  status?: { lastGeneration?: number; secretMAC?: string; conditions?: Condition[] };
};

function refKey(
  ref: string | undefined,
  referrerNs: string,
  operatorNs: string,
): { namespace: string; name: string } {
  if (!ref) return { namespace: operatorNs, name: 'default' };
  return ref.includes('/') ? splitKey(ref) : { namespace: referrerNs, name: ref };
}

/** Go's json.Marshal of map[string][]byte: keys sorted, values base64. */
function macMessage(data: Record<string, Buffer>): string {
  const keys = Object.keys(data).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${JSON.stringify((data[k] as Buffer).toString('base64'))}`).join(',')}}`;
}

function metaSignature(obj: StandinObject): string {
  return JSON.stringify([obj.metadata.generation, obj.metadata.labels ?? {}, obj.metadata.annotations ?? {}]);
}

function upsertCondition(conditions: Condition[], next: Condition, renew: boolean): Condition[] {
  const current = conditions.find((c) => c.type === next.type);
  const keepTime = !renew && current && current.status === next.status;
  return [
    ...conditions.filter((c) => c.type !== next.type),
    keepTime ? { ...next, lastTransitionTime: current.lastTransitionTime } : next,
  ];
}

class VsoController {
  readonly stats = { syncs: 0, secretWrites: 0, statusConflicts: 0 };
  /** Consecutive Vault errors per object, for the error backoff. */
  private readonly failures = new Map<string, number>();
  private readonly cacheKeyId = randomBytes(10).toString('hex');
  private readonly clientId = randomBytes(16).toString('hex');
  readonly queue = new WorkQueue(
    (key) => this.reconcile(key),
    () => {},
    VSO_BEHAVIOUR.errorBackoff,
  );
  /** Last generation/labels/annotations seen, for VSO's event filter. */
  readonly seen = new Map<string, string>();
  hmacKey: Buffer = Buffer.alloc(0);
  readonly operatorNs: string;

  constructor(
    readonly kube: StandinKube,
    readonly opts: VsoStandinOptions,
  ) {
    this.operatorNs = opts.operatorNamespace ?? 'vault-secrets-operator-system';
  }

  onUpsert(vss: Vss): void {
    const key = objectKey(vss);
    const signature = metaSignature(vss);
    if (this.seen.get(key) === signature) return;
    this.seen.set(key, signature);
    this.queue.enqueue(key);
  }

  onRemove(vss: Vss): void {
    const key = objectKey(vss);
    this.seen.delete(key);
    this.queue.forget(key);
  }

  private async address(vss: Vss): Promise<{ address: string; namespace: string }> {
    const ns = vss.metadata.namespace as string;
    const authRef = refKey(vss.spec.vaultAuthRef, ns, this.operatorNs);
    const auth = (await this.kube.custom.getNamespacedCustomObject({
      group: VSS.group,
      version: VSS.version,
      plural: 'vaultauths',
      ...authRef,
    })) as { spec?: { vaultConnectionRef?: string; namespace?: string } };
    const connRef = refKey(auth.spec?.vaultConnectionRef, authRef.namespace, this.operatorNs);
    const connection = (await this.kube.custom.getNamespacedCustomObject({
      group: VSS.group,
      version: VSS.version,
      plural: 'vaultconnections',
      ...connRef,
    })) as { spec: { address: string } };
    return { address: connection.spec.address, namespace: vss.spec.namespace || auth.spec?.namespace || '' };
  }

  private async read(vss: Vss): Promise<Record<string, Buffer>> {
    const target = await this.address(vss);
    const client = vaultClient(this.opts.vault, target.address, this.opts.vault.token, target.namespace);
    const mount = vss.spec.mount.replace(/^\/+|\/+$/g, '');
    const path = vss.spec.path.replace(/^\/+|\/+$/g, '');
    const v2 = vss.spec.type === 'kv-v2';
    const query = v2 && vss.spec.version ? `?version=${vss.spec.version}` : '';
    const full = v2 ? `${mount}/data/${path}` : `${mount}/${path}`;
    const res = (await client
      .read(`${full}${query}`)
      .catch((error: { response?: { statusCode?: number } }) => {
        if (error.response?.statusCode === 404) throw new Error(VSO_BEHAVIOUR.emptyResponse(full));
        throw error;
      })) as { data?: Record<string, unknown> };
    const raw = res.data ?? {};
    const fields = (v2 ? raw.data : raw) as Record<string, unknown> | null | undefined;
    if (!fields) throw new Error(VSO_BEHAVIOUR.emptyResponse(full));
    if ('_raw' in fields) throw new Error("key '_raw' not permitted in Vault secret");
    const data: Record<string, Buffer> = { _raw: Buffer.from(JSON.stringify(raw)) };
    for (const [k, v] of Object.entries(fields))
      data[k] = Buffer.from(typeof v === 'string' ? v : JSON.stringify(v));
    return data;
  }

  private mac(data: Record<string, Buffer>): string {
    return createHmac('sha256', this.hmacKey).update(macMessage(data)).digest('base64');
  }

  async reconcile(key: string): Promise<number | undefined> {
    const { namespace, name } = splitKey(key);
    let vss: Vss;
    try {
      vss = (await this.kube.custom.getNamespacedCustomObject({ ...VSS, namespace, name })) as Vss;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
    if (!vss.metadata.finalizers?.includes(VSO_BEHAVIOUR.finalizer)) vss = await this.addFinalizer(vss);
    const refreshAfter = vss.spec.refreshAfter ? (parseGoDuration(vss.spec.refreshAfter) ?? 0) : 0;
    const hmac = vss.spec.hmacSecretData ?? true;
    const horizon = refreshAfter || (hmac ? VSO_BEHAVIOUR.hmacDefaultHorizonMs : 0);
    this.stats.syncs++;
    let data: Record<string, Buffer>;
    try {
      data = await this.read(vss);
    } catch (error) {
      const err = backendMessage(error);
      const failures = (this.failures.get(key) ?? 0) + 1;
      this.failures.set(key, failures);
      const { initialMs, maxMs } = VSO_BEHAVIOUR.errorBackoff;
      const retryMs = Math.min(initialMs * 2 ** (failures - 1), maxMs);
      await recordEvent(
        this.kube,
        vss,
        'Warning',
        VSO_BEHAVIOUR.events.vaultError,
        `Failed to read Vault secret: ${err}`,
        COMPONENT,
      );
      const written = await this.updateStatus(vss, { lastGeneration: vss.metadata.generation }, [
        {
          type: 'SecretSynced',
          status: 'False',
          reason: VSO_BEHAVIOUR.synced.reason,
          message: VSO_BEHAVIOUR.synced.failed(goDuration(retryMs), err),
          renew: false,
        },
        { type: 'Healthy', status: 'False', ...VSO_BEHAVIOUR.healthy.false, renew: true },
        { type: 'Ready', status: 'False', ...VSO_BEHAVIOUR.ready, renew: true },
      ]);
      return written ? retryMs : undefined;
    }
    this.failures.delete(key);
    const mac = this.mac(data);
    let doSync = true;
    if (hmac) {
      const macsEqual = vss.status?.secretMAC === mac && (await this.secretMatches(vss, mac));
      if (vss.status?.lastGeneration === vss.metadata.generation) doSync = !macsEqual;
    }
    const next = horizon ? jittered(horizon) : 0;
    if (doSync) {
      await this.writeSecret(vss, data);
      const { reason, message } = VSO_BEHAVIOUR.events.synced;
      await recordEvent(this.kube, vss, 'Normal', reason, message, COMPONENT);
    }
    const written = await this.updateStatus(
      vss,
      { lastGeneration: vss.metadata.generation, ...(hmac ? { secretMAC: mac } : {}) },
      [
        ...(doSync
          ? [
              {
                type: 'SecretSynced',
                status: 'True',
                reason: VSO_BEHAVIOUR.synced.reason,
                message: VSO_BEHAVIOUR.synced.ok(goDuration(next)),
                renew: true,
              },
            ]
          : []),
        { type: 'Healthy', status: 'True', ...VSO_BEHAVIOUR.healthy.true, renew: true },
        { type: 'Ready', status: 'True', ...VSO_BEHAVIOUR.ready, renew: true },
      ],
    );
    return written && next ? next : undefined;
  }

  /**
   * VSO's first reconcile adds its finalizer with a full Update of the object, which also
   * writes the defaulted `spec.destination.transformation: {}`: generation 1 → 2.
   */
  private async addFinalizer(vss: Vss): Promise<Vss> {
    const body = {
      ...vss,
      metadata: {
        ...vss.metadata,
        finalizers: [...(vss.metadata.finalizers ?? []), VSO_BEHAVIOUR.finalizer],
      },
      spec: { ...vss.spec, destination: { transformation: {}, ...vss.spec.destination } },
    };
    return (await this.kube.custom.replaceNamespacedCustomObject({
      ...VSS,
      namespace: vss.metadata.namespace as string,
      name: vss.metadata.name,
      body,
    })) as Vss;
  }

  /** VSO drift detection: the destination's current data still has the recorded MAC. */
  private async secretMatches(vss: Vss, mac: string): Promise<boolean> {
    try {
      const secret = await this.kube.core.readNamespacedSecret({
        namespace: vss.metadata.namespace as string,
        name: vss.spec.destination.name,
      });
      const data = Object.fromEntries(
        Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')]),
      );
      return this.mac(data) === mac;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw error;
    }
  }

  private async writeSecret(vss: Vss, data: Record<string, Buffer>): Promise<void> {
    const namespace = vss.metadata.namespace as string;
    const dest = vss.spec.destination;
    let existing:
      | {
          metadata?: {
            labels?: Record<string, string>;
            resourceVersion?: string;
            annotations?: Record<string, string>;
          };
          type?: string;
        }
      | undefined;
    try {
      existing = await this.kube.core.readNamespacedSecret({ namespace, name: dest.name });
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
    if (!existing && !dest.create)
      throw new Error(`destination secret ${namespace}/${dest.name} does not exist, and create=false`);
    const owned = existing?.metadata?.labels?.[OWNER_LABEL] === vss.metadata.uid;
    if (existing && dest.create && !owned && !dest.overwrite) {
      throw new Error(`not the owner of the destination Secret ${namespace}/${dest.name}`);
    }
    const encoded = Object.fromEntries(Object.entries(data).map(([k, v]) => [k, v.toString('base64')]));
    const labels = dest.create
      ? {
          ...(dest.labels ?? {}),
          ...VSO_BEHAVIOUR.labels,
          [OWNER_LABEL]: vss.metadata.uid as string,
        }
      : (existing?.metadata?.labels ?? {});
    const body = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: dest.name,
        namespace,
        labels,
        annotations: dest.create ? (dest.annotations ?? {}) : (existing?.metadata?.annotations ?? {}),
        ...(dest.create
          ? {
              ownerReferences: [
                {
                  apiVersion: `${VSS.group}/${VSS.version}`,
                  kind: VSS.kind,
                  name: vss.metadata.name,
                  uid: vss.metadata.uid as string,
                },
              ],
            }
          : {}),
        ...(existing?.metadata?.resourceVersion
          ? { resourceVersion: existing.metadata.resourceVersion }
          : {}),
      },
      type: dest.type ?? existing?.type ?? 'Opaque',
      data: encoded,
    };
    this.stats.secretWrites++;
    if (existing) await this.kube.core.replaceNamespacedSecret({ namespace, name: dest.name, body });
    else await this.kube.core.createNamespacedSecret({ namespace, body });
  }

  /**
   * Status().Update with the version read. A concurrent edit of the object (a force, GitOps,
   * kubectl) makes it conflict: VSO records StatusUpdateError and does not requeue, since
   * that edit triggers the next reconcile anyway. Returns whether the status was written.
   */
  private async updateStatus(
    vss: Vss,
    fields: Record<string, unknown>,
    conditions: Array<Omit<Condition, 'lastTransitionTime'> & { renew: boolean }>,
  ): Promise<boolean> {
    const now = metaTime(new Date());
    let next = vss.status?.conditions ?? [];
    for (const { renew, ...c } of conditions) {
      next = upsertCondition(
        next,
        { ...c, lastTransitionTime: now, observedGeneration: vss.metadata.generation },
        renew,
      );
    }
    const vaultClientMeta = { cacheKey: `approle-${this.cacheKeyId}`, id: this.clientId };
    const body = { ...vss, status: { ...(vss.status ?? {}), ...fields, vaultClientMeta, conditions: next } };
    try {
      await this.kube.custom.replaceNamespacedCustomObjectStatus({
        ...VSS,
        namespace: vss.metadata.namespace as string,
        name: vss.metadata.name,
        body,
      });
      return true;
    } catch (error) {
      if (!isConflict(error)) throw error;
      await recordEvent(
        this.kube,
        vss,
        'Warning',
        VSO_BEHAVIOUR.events.conflict,
        VSO_BEHAVIOUR.conflictMessage(vss.metadata.name),
        COMPONENT,
      );
      this.stats.statusConflicts++;
      return false;
    }
  }
}

/** Starts the VSO stand-in; resolves once its informers have listed. */
export async function startVsoStandin(opts: VsoStandinOptions): Promise<VsoStandin> {
  const controller = new VsoController(standinKube(opts.kubeconfig), opts);
  controller.hmacKey = await hmacKeyOf(controller.kube, controller.operatorNs);
  const stop = await startInformers<Vss>(controller.kube, VSS, opts.namespaces, {
    upsert: (vss) => controller.onUpsert(vss),
    remove: (vss) => controller.onRemove(vss),
  });
  return {
    stats: controller.stats,
    async stop() {
      await stop();
      await controller.queue.stop();
    },
  };
}
