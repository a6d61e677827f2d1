import { isNotFound, kubeError } from '../api/errors.js';
import type { ChangedResource } from '../changed-resource.js';
import type { ClusterClient } from '../cluster.js';
import { type ResourceType, resourceTypeOf } from './annotations.js';
import { reloaderHash } from './hash.js';

/**
 * The current content hash of a changed resource, read from the API: the hash is of what
 * is stored now, not of what an event said, so a repeated or late event converges on
 * "already current". Reads are shared: a read that started after a change arrived
 * answers every workload waiting on that change, so a Secret consumed by a thousand
 * workloads is read once per burst.
 */

export type ResolvedResource =
  | {
      present: true;
      change: ChangedResource;
      type: ResourceType;
      hash: string;
      annotations: Record<string, string>;
      labels: Record<string, string>;
    }
  | { present: false; change: ChangedResource; type: ResourceType; reason: string };

const SPC = { group: 'secrets-store.csi.x-k8s.io', version: 'v1' } as const;
const KEEP_MS = 60_000;
/** Stands in for the object id when the hash is keyed on a backend version no pod has mounted yet. */
const BACKEND_VERSION_ID = 'rotor.dev/backend-version';

interface SpcPodStatus {
  metadata?: { name?: string; creationTimestamp?: string; managedFields?: Array<{ time?: string }> };
  status?: { secretProviderClassName?: string; objects?: Array<{ id?: string; version?: string }> };
}

export class ResourceReader {
  private readonly reads = new Map<string, { startedAt: number; result: Promise<ResolvedResource> }>();

  constructor(private readonly client: ClusterClient) {}

  /** A read that started at or after `notBefore` (performance.now() time of the change's arrival). */
  read(change: ChangedResource, notBefore: number): Promise<ResolvedResource> {
    const key = `${change.kind}/${change.namespace}/${change.name}#${change.backendVersion ?? ''}`;
    const cached = this.reads.get(key);
    if (cached && cached.startedAt >= notBefore) return cached.result;
    this.forgetOld();
    const startedAt = performance.now();
    const result = this.fetch(change);
    this.reads.set(key, { startedAt, result });
    result.catch(() => this.reads.delete(key));
    return result;
  }

  private forgetOld(): void {
    const horizon = performance.now() - KEEP_MS;
    for (const [key, entry] of this.reads) if (entry.startedAt < horizon) this.reads.delete(key);
  }

  private async fetch(change: ChangedResource): Promise<ResolvedResource> {
    const type = resourceTypeOf(change.kind);
    const where = `${change.kind} ${change.namespace}/${change.name}`;
    try {
      if (change.kind === 'Secret') {
        const s = await this.client.core.readNamespacedSecret({
          namespace: change.namespace,
          name: change.name,
        });
        const hash = reloaderHash({ kind: 'Secret', data: s.data });
        return present(change, type, hash, s.metadata);
      }
      return await this.fetchSpc(change, type);
    } catch (error) {
      if (isNotFound(error)) return { present: false, change, type, reason: `${where} does not exist` };
      throw kubeError(error, `read ${where}`);
    }
  }

  /**
   * Reloader hashes the SecretProviderClassPodStatus (object ids and versions the driver
   * mounted), not the SecretProviderClass; pods may briefly disagree during a rotation, so
   * the status written last wins. When the change names the backend's current version (read
   * from the backend, never taken from an event: events arrive out of order) and no
   * pod has mounted it yet (the driver only re-reads on remount, unless its own rotation
   * poll runs), the hash is keyed on that version instead: the restart is what refreshes
   * the mount, and the same version again finds it already current.
   */
  private async fetchSpc(change: ChangedResource, type: ResourceType): Promise<ResolvedResource> {
    const { namespace, name } = change;
    const spc = (await this.client.custom.getNamespacedCustomObject({
      ...SPC,
      plural: 'secretproviderclasses',
      namespace,
      name,
    })) as { metadata?: { annotations?: Record<string, string>; labels?: Record<string, string> } };
    const list = (await this.client.custom.listNamespacedCustomObject({
      ...SPC,
      plural: 'secretproviderclasspodstatuses',
      namespace,
    })) as { items?: SpcPodStatus[] };
    const latest = (list.items ?? [])
      .filter((s) => s.status?.secretProviderClassName === name)
      .sort(
        (a, b) =>
          lastWrite(b) - lastWrite(a) || (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''),
      )[0];
    const version = change.backendVersion;
    const mounted =
      version !== undefined && (latest?.status?.objects ?? []).some((o) => o.version === version);
    if (version !== undefined && !mounted) {
      const status = { secretProviderClassName: name, objects: [{ id: BACKEND_VERSION_ID, version }] };
      return present(
        change,
        type,
        reloaderHash({ kind: 'SecretProviderClassPodStatus', status }),
        spc.metadata,
      );
    }
    if (!latest?.status) {
      return {
        present: false,
        change,
        type,
        reason: `SecretProviderClass ${namespace}/${name} has no SecretProviderClassPodStatus (no running pod mounts it)`,
      };
    }
    const hash = reloaderHash({ kind: 'SecretProviderClassPodStatus', status: latest.status });
    return present(change, type, hash, spc.metadata);
  }
}

function present(
  change: ChangedResource,
  type: ResourceType,
  hash: string,
  metadata: { annotations?: Record<string, string>; labels?: Record<string, string> } | undefined,
): ResolvedResource {
  return {
    present: true,
    change,
    type,
    hash,
    annotations: metadata?.annotations ?? {},
    labels: metadata?.labels ?? {},
  };
}

function lastWrite(s: SpcPodStatus): number {
  const times = [s.metadata?.creationTimestamp, ...(s.metadata?.managedFields ?? []).map((f) => f.time)]
    .filter((t): t is string => Boolean(t))
    .map((t) => Date.parse(String(t)));
  return times.length > 0 ? Math.max(...times) : 0;
}
