/**
 * STAND-IN for Vault Secrets Operator (v1.4, secrets.hashicorp.com/v1beta1): a TEST
 * DOUBLE, not VSO. VSO cannot run here, so this small controller follows VSO's documented
 * contract (REFERENCE.md section 2; controllers/vaultstaticsecret_controller.go and
 * internal/helpers in hashicorp/vault-secrets-operator) against the real API server and
 * the real OpenBao, for VaultStaticSecret only:
 *  - reconciles on create and on generation, label or annotation changes (VSO's
 *    syncable-secret predicate), and again after refreshAfter (no jitter, so poll lag
 *    can be measured; VSO adds up to 10 %); with hmacSecretData and no refreshAfter, 60 s;
 *  - resolves vaultAuthRef → VaultAuth → vaultConnectionRef → VaultConnection.address
 *    (empty refs: `default` in the operator namespace; `ns/name` accepted);
 *  - reads kv-v2 `<mount>/data/<path>` (spec.version when set) or kv-v1 `<mount>/<path>`;
 *    the Secret holds every field plus `_raw` (the response data as JSON);
 *  - HMACs the data (status.secretMAC) and does not rewrite the Secret when the MAC and
 *    generation are unchanged and the Secret has not drifted;
 *  - writes the destination Secret with VSO's labels app.kubernetes.io/component:
 *    secret-sync, app.kubernetes.io/managed-by: hashicorp-vso, app.kubernetes.io/name:
 *    vault-secrets-operator, secrets.hashicorp.com/vso-ownerRefUID, and an owner reference;
 *  - status via update (optimistic concurrency, as VSO's Status().Update): lastGeneration,
 *    secretMAC, conditions SecretSynced (changes only when the Secret is written, as in
 *    VSO issue #1225), Healthy and Ready (lastTransitionTime renewed on every reconcile,
 *    VSO issue #1232); on a Vault error Ready/Healthy False reason VaultClientError and a
 *    Warning Event "Failed to read Vault secret: ...".
 * Assumptions (not in the sources reachable here): the reasons of Healthy/Ready True
 * ("Healthy"), the operator's Vault login (the stand-in uses the token it is given instead
 * of the VaultAuth method). Not reproduced: rolloutRestartTargets, transformations,
 * instantUpdates, VaultDynamicSecret and VaultPKISecret.
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
  readonly stats: { syncs: number; secretWrites: number };
  stop(): Promise<void>;
}

const VSS = {
  group: 'secrets.hashicorp.com',
  version: 'v1beta1',
  plural: 'vaultstaticsecrets',
  kind: 'VaultStaticSecret',
};
const COMPONENT = 'VaultStaticSecret';
const ERROR_HORIZON_MS = 5_000;
const HMAC_DEFAULT_HORIZON_MS = 60_000;
const OWNER_LABEL = 'secrets.hashicorp.com/vso-ownerRefUID';

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
  readonly stats = { syncs: 0, secretWrites: 0 };
  readonly queue = new WorkQueue((key) => this.reconcile(key));
  /** Last generation/labels/annotations seen, for VSO's event filter. */
  readonly seen = new Map<string, string>();
  private readonly hmacKey = randomBytes(32);
  private readonly operatorNs: string;

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
    const res = (await client.read(v2 ? `${mount}/data/${path}${query}` : `${mount}/${path}`)) as {
      data?: Record<string, unknown>;
    };
    const raw = res.data ?? {};
    const fields = (v2 ? raw.data : raw) as Record<string, unknown> | null | undefined;
    if (!fields) throw new Error(`empty response from Vault, path="${mount}/${path}"`);
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
    const refreshAfter = vss.spec.refreshAfter ? (parseGoDuration(vss.spec.refreshAfter) ?? 0) : 0;
    const hmac = vss.spec.hmacSecretData ?? true;
    const horizon = refreshAfter || (hmac ? HMAC_DEFAULT_HORIZON_MS : 0);
    this.stats.syncs++;
    let data: Record<string, Buffer>;
    try {
      data = await this.read(vss);
    } catch (error) {
      const message = `Failed to read Vault secret: ${backendMessage(error)}`;
      await recordEvent(this.kube, vss, 'Warning', 'VaultClientError', message, COMPONENT);
      // lastGeneration is required by the CRD; Go's zero value is written before the first sync.
      await this.updateStatus(vss, { lastGeneration: vss.status?.lastGeneration ?? 0 }, [
        {
          type: 'SecretSynced',
          status: 'False',
          reason: 'VaultClientError',
          message: `Failed to sync the secret, horizon=${ERROR_HORIZON_MS / 1000}s, err=${message}`,
          renew: false,
        },
        { type: 'Healthy', status: 'False', reason: 'VaultClientError', message, renew: true },
        { type: 'Ready', status: 'False', reason: 'VaultClientError', message, renew: true },
      ]);
      return ERROR_HORIZON_MS;
    }
    const mac = this.mac(data);
    let doSync = true;
    let rotated = false;
    if (hmac) {
      rotated = Boolean(vss.status?.secretMAC);
      const macsEqual = vss.status?.secretMAC === mac && (await this.secretMatches(vss, mac));
      if (vss.status?.lastGeneration === vss.metadata.generation) doSync = !macsEqual;
    }
    if (doSync) await this.writeSecret(vss, data);
    const reason = doSync ? (rotated ? 'SecretRotated' : 'SecretSynced') : 'SecretSync';
    await recordEvent(
      this.kube,
      vss,
      'Normal',
      reason,
      doSync ? 'Secret synced' : 'Secret sync not required',
      COMPONENT,
    );
    const conditions = [
      ...(doSync
        ? [
            {
              type: 'SecretSynced',
              status: 'True',
              reason: 'SecretSynced',
              message: 'Secret synced',
              renew: true,
            },
          ]
        : []),
      { type: 'Healthy', status: 'True', reason: 'Healthy', message: 'Secret synced', renew: true },
      { type: 'Ready', status: 'True', reason: 'Healthy', message: 'Secret synced', renew: true },
    ];
    await this.updateStatus(
      vss,
      { lastGeneration: vss.metadata.generation, ...(hmac ? { secretMAC: mac } : {}) },
      conditions,
    );
    return horizon || undefined;
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
          'app.kubernetes.io/component': 'secret-sync',
          'app.kubernetes.io/managed-by': 'hashicorp-vso',
          'app.kubernetes.io/name': 'vault-secrets-operator',
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

  /** Status().Update with the version read: a concurrent edit (a force) makes it conflict and requeue. */
  private async updateStatus(
    vss: Vss,
    fields: Record<string, unknown>,
    conditions: Array<Omit<Condition, 'lastTransitionTime'> & { renew: boolean }>,
  ): Promise<void> {
    const now = metaTime(new Date());
    let next = vss.status?.conditions ?? [];
    for (const { renew, ...c } of conditions) {
      next = upsertCondition(
        next,
        { ...c, lastTransitionTime: now, observedGeneration: vss.metadata.generation },
        renew,
      );
    }
    const body = { ...vss, status: { ...(vss.status ?? {}), ...fields, conditions: next } };
    try {
      await this.kube.custom.replaceNamespacedCustomObjectStatus({
        ...VSS,
        namespace: vss.metadata.namespace as string,
        name: vss.metadata.name,
        body,
      });
    } catch (error) {
      if (isConflict(error)) throw new Error('status update conflicted; requeued');
      throw error;
    }
  }
}

/** Starts the VSO stand-in; resolves once its informers have listed. */
export async function startVsoStandin(opts: VsoStandinOptions): Promise<VsoStandin> {
  const controller = new VsoController(standinKube(opts.kubeconfig), opts);
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
