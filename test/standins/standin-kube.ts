/**
 * Plumbing shared by the operator stand-ins (test doubles, see eso-standin.ts and
 * vso-standin.ts): admin API access, informers scoped to the test's namespaces, a
 * per-object work queue like controller-runtime's, and core/v1 Event recording.
 */
import { randomBytes } from 'node:crypto';
import {
  ApiException,
  type CoreV1Api,
  type CustomObjectsApi,
  KubeConfig,
  type KubernetesObject,
  makeInformer,
  PatchStrategy,
  setHeaderOptions,
} from '@kubernetes/client-node';
import { clusterClientFromKubeConfig } from '../../lib/kube/cluster.js';

export interface Gvr {
  group: string;
  version: string;
  plural: string;
  kind: string;
}

export interface StandinObject extends KubernetesObject {
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    generation?: number;
    resourceVersion?: string;
    finalizers?: string[];
    deletionTimestamp?: Date;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: Array<{
      apiVersion: string;
      kind: string;
      name: string;
      uid: string;
      controller?: boolean;
      blockOwnerDeletion?: boolean;
    }>;
  };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
}

export interface StandinKube {
  kc: KubeConfig;
  core: CoreV1Api;
  custom: CustomObjectsApi;
}

/**
 * Clients that keep their connections alive, as the operators' Go clients do (client-node
 * alone opens a TLS connection per request: in a burst the stand-ins' handshakes took more
 * CPU than rotor, in rotor's own process).
 */
export function standinKube(kubeconfig: string): StandinKube {
  const kc = new KubeConfig();
  kc.loadFromString(kubeconfig);
  const { core, custom } = clusterClientFromKubeConfig('standin', kc);
  return { kc, core, custom };
}

export function isNotFound(error: unknown): boolean {
  return error instanceof ApiException && error.code === 404;
}

export function isConflict(error: unknown): boolean {
  return error instanceof ApiException && error.code === 409;
}

/** Go's metav1.Time text: RFC 3339 with whole seconds. */
export function metaTime(d: Date): string {
  return new Date(Math.floor(d.getTime() / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

export function objectKey(obj: { metadata: { name: string; namespace?: string } }): string {
  return obj.metadata.namespace ? `${obj.metadata.namespace}/${obj.metadata.name}` : obj.metadata.name;
}

export function splitKey(key: string): { namespace: string; name: string } {
  const i = key.indexOf('/');
  return i < 0 ? { namespace: '', name: key } : { namespace: key.slice(0, i), name: key.slice(i + 1) };
}

export interface InformerHandlers<T> {
  upsert: (obj: T) => void;
  remove: (obj: T) => void;
}

/**
 * List-then-watch of one kind, per namespace when the stand-in is scoped (so parallel
 * test files never reconcile each other's objects), restarted after errors.
 */
export async function startInformers<T extends StandinObject>(
  kube: StandinKube,
  gvr: Gvr,
  namespaces: readonly string[] | undefined,
  handlers: InformerHandlers<T>,
  clusterScoped = false,
): Promise<() => Promise<void>> {
  const scopes: Array<string | undefined> = clusterScoped || !namespaces ? [undefined] : [...namespaces];
  let stopped = false;
  const informers = scopes.map((namespace) => {
    const base = `/apis/${gvr.group}/${gvr.version}`;
    const path = namespace ? `${base}/namespaces/${namespace}/${gvr.plural}` : `${base}/${gvr.plural}`;
    const list = () =>
      (namespace
        ? kube.custom.listNamespacedCustomObject({ ...gvr, namespace })
        : kube.custom.listClusterCustomObject({ ...gvr })) as Promise<{
        items: T[];
        metadata: { resourceVersion?: string };
      }>;
    const informer = makeInformer<T>(kube.kc, path, list);
    informer.on('add', handlers.upsert);
    informer.on('update', handlers.upsert);
    informer.on('delete', handlers.remove);
    informer.on('error', () => {
      if (!stopped) setTimeout(() => void informer.start().catch(() => {}), 500);
    });
    return informer;
  });
  await Promise.all(informers.map((i) => i.start()));
  return async () => {
    stopped = true;
    await Promise.all(informers.map((i) => i.stop()));
  };
}

/**
 * One reconcile at a time per key; a key enqueued while running runs again after.
 * `reconcile` returns when to run again (ms) or undefined; a throw retries with backoff.
 */
export class WorkQueue {
  private readonly timers = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  private readonly running = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly failures = new Map<string, number>();
  private stopped = false;
  private readonly idle = new Set<() => void>();

  /**
   * `backoff`: retry delay after the n-th failure in a row, initialMs·2^(n-1) up to maxMs
   * (controller-runtime's default limiter: 5 ms up to 1000 s).
   */
  constructor(
    private readonly reconcile: (key: string) => Promise<number | undefined>,
    private readonly onError: (key: string, error: unknown) => void = () => {},
    private readonly backoff: { initialMs: number; maxMs: number } = { initialMs: 5, maxMs: 1_000_000 },
  ) {}

  /**
   * Like client-go's delaying queue: an immediate add runs now and leaves a pending
   * delayed add in place; of two delayed adds the earlier wins.
   */
  enqueue(key: string, afterMs = 0): void {
    if (this.stopped) return;
    if (afterMs <= 0) {
      setImmediate(() => void this.run(key));
      return;
    }
    const at = Date.now() + afterMs;
    const existing = this.timers.get(key);
    if (existing && existing.at <= at) return;
    if (existing) clearTimeout(existing.timer);
    const timer = setTimeout(() => {
      this.timers.delete(key);
      void this.run(key);
    }, afterMs);
    this.timers.set(key, { at, timer });
  }

  forget(key: string): void {
    const existing = this.timers.get(key);
    if (existing) clearTimeout(existing.timer);
    this.timers.delete(key);
    this.failures.delete(key);
  }

  private async run(key: string): Promise<void> {
    if (this.stopped) return;
    if (this.running.has(key)) {
      this.dirty.add(key);
      return;
    }
    this.running.add(key);
    try {
      const again = await this.reconcile(key);
      this.failures.delete(key);
      if (again !== undefined && again > 0) this.enqueue(key, again);
    } catch (error) {
      this.onError(key, error);
      const n = (this.failures.get(key) ?? 0) + 1;
      this.failures.set(key, n);
      this.enqueue(key, Math.min(this.backoff.initialMs * 2 ** (n - 1), this.backoff.maxMs));
    } finally {
      this.running.delete(key);
      if (this.dirty.delete(key)) this.enqueue(key, 0);
      if (this.running.size === 0) for (const resolve of this.idle) resolve();
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const { timer } of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    if (this.running.size > 0) await new Promise<void>((resolve) => this.idle.add(resolve));
  }
}

/**
 * client-go's event recorder (tools/record): a per-object spam filter (a token bucket of
 * 25, refilled one per 5 minutes, per source, object and event type) drops events past
 * the burst; an event identical to an earlier one (same reason and message) bumps its
 * count and lastTimestamp instead of creating a new one.
 */
export const EVENT_RECORDER = { spamBurst: 25, spamRefillMs: 300_000 };

const spamBuckets = new Map<string, { tokens: number; at: number }>();
const recorded = new Map<string, { name: string; count: number }>();

function takeToken(key: string, now: number): boolean {
  const bucket = spamBuckets.get(key) ?? { tokens: EVENT_RECORDER.spamBurst, at: now };
  const refill = Math.floor((now - bucket.at) / EVENT_RECORDER.spamRefillMs);
  if (refill > 0) {
    bucket.tokens = Math.min(EVENT_RECORDER.spamBurst, bucket.tokens + refill);
    bucket.at += refill * EVENT_RECORDER.spamRefillMs;
  }
  spamBuckets.set(key, bucket);
  if (bucket.tokens <= 0) return false;
  bucket.tokens--;
  return true;
}

/** Records a core/v1 Event on the object, as client-go's recorder does (see EVENT_RECORDER). */
export async function recordEvent(
  kube: StandinKube,
  obj: StandinObject,
  type: 'Normal' | 'Warning',
  reason: string,
  message: string,
  component: string,
): Promise<void> {
  const now = new Date(metaTime(new Date()));
  const namespace = obj.metadata.namespace ?? 'default';
  const objectKey = [component, obj.kind, namespace, obj.metadata.name, obj.metadata.uid, type].join('\0');
  if (!takeToken(objectKey, Date.now())) return;
  const same = recorded.get(`${objectKey}\0${reason}\0${message}`);
  try {
    if (same) {
      same.count++;
      await kube.core.patchNamespacedEvent(
        { namespace, name: same.name, body: { count: same.count, lastTimestamp: now } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
      return;
    }
    const name = `${obj.metadata.name}.${randomBytes(8).toString('hex')}`;
    recorded.set(`${objectKey}\0${reason}\0${message}`, { name, count: 1 });
    await kube.core.createNamespacedEvent({
      namespace,
      body: {
        metadata: { name, namespace },
        involvedObject: {
          apiVersion: obj.apiVersion,
          kind: obj.kind,
          name: obj.metadata.name,
          namespace,
          uid: obj.metadata.uid,
          resourceVersion: obj.metadata.resourceVersion,
        },
        type,
        reason,
        message,
        count: 1,
        firstTimestamp: now,
        lastTimestamp: now,
        source: { component },
        reportingComponent: component,
      },
    });
  } catch {
    // Events are informational; a recorder never fails a reconcile.
  }
}
