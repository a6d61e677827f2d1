import type { ClusterClient } from '../cluster.js';
import { listPage } from './custom-objects.js';
import { statusOf } from './errors.js';
import { collectionPath, type Gvr } from './gvr.js';
import type { KubeObject } from './objects.js';
import { startWatch, type WatchHandle, type WatchPhase } from './watch.js';

export type KubeLog = (
  level: 'debug' | 'info' | 'warn' | 'error',
  msg: string,
  fields?: Record<string, unknown>,
) => void;

/** A watch event as the informer received it (full object), or `gap`: events may have been skipped. */
export type InformerEvent = { phase: 'ADDED' | 'MODIFIED' | 'DELETED'; obj: KubeObject } | { phase: 'gap' };

/** Where an informer puts what it sees of its collection. */
export interface InformerSink {
  /** The collection as one list returned it: the sink drops what is no longer in it. */
  replace(items: readonly KubeObject[]): void;
  upsert(obj: KubeObject): void;
  remove(obj: KubeObject): void;
}

export interface InformerOptions {
  client: ClusterClient;
  gvr: Gvr;
  /** One namespace's collection; without it the whole cluster's (or a cluster-scoped kind's). */
  namespace?: string;
  sink: InformerSink;
  log: KubeLog;
  /** A failed list is tried again in the background after this long. */
  retryMs?: number;
  /** How a watch is opened (tests drive the stream; default startWatch). */
  watch?: typeof startWatch;
}

const PAGE_SIZE = 500;
const RETRY_MS = 30_000;
/** A failed list is repeated on demand at most this often, so a broken kind costs no list per event. */
const ON_DEMAND_RELIST_MS = 5_000;

/**
 * List, then watch, one collection: the one way rotor follows a kind (the consumer index's
 * workloads, the object cache's operator objects). The watch resumes from the last
 * resourceVersion (bookmarks keep it fresh); 410 Gone means the history was compacted, so
 * the collection is listed again. A list that fails (a kind the cluster does not serve,
 * a verb rotor lacks, an unreachable server) is retried in the background, and on demand
 * by sync() once it is a few seconds old.
 */
export class Informer {
  private resourceVersion = '';
  private stopped = false;
  private synced = false;
  private listing?: Promise<void>;
  private failure?: { error: unknown; at: number };
  private stream?: WatchHandle;
  private timer?: NodeJS.Timeout;
  /** Open while the watch stream is: a listener added now sees every later change, in order. */
  private watching = false;
  private readonly listeners = new Set<(e: InformerEvent) => void>();
  /** LIST requests sent (pages included): what the cache's tests count. */
  lists = 0;

  constructor(private readonly options: InformerOptions) {}

  get label(): string {
    const { gvr, namespace } = this.options;
    return `${gvr.plural}.${gvr.group}${namespace ? ` in ${namespace}` : ''}`;
  }

  /**
   * Resolves once the collection has been listed (at once when it was); rejects with the
   * list's failure. Starts the list and the watch on first call.
   */
  sync(): Promise<void> {
    if (this.synced) return Promise.resolve();
    this.stopped = false;
    if (this.listing) return this.listing;
    const failed = this.failure;
    if (failed && performance.now() - failed.at < ON_DEMAND_RELIST_MS) return Promise.reject(failed.error);
    return this.run();
  }

  /**
   * Follows the live watch's events; undefined when no watch is open (nothing can be
   * promised about order then). The listener gets `gap` once when the stream ends (a
   * resume or relist may skip events) and is dropped.
   */
  listen(listener: (e: InformerEvent) => void): (() => void) | undefined {
    if (!this.watching || this.stopped) return undefined;
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private endStream(): void {
    this.watching = false;
    const listeners = [...this.listeners];
    this.listeners.clear();
    for (const l of listeners) l({ phase: 'gap' });
  }

  stop(): void {
    this.endStream();
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.stream?.stop();
  }

  private run(): Promise<void> {
    this.listing ??= this.relist().finally(() => {
      this.listing = undefined;
    });
    return this.listing;
  }

  private async relist(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    try {
      const items: KubeObject[] = [];
      let cont: string | undefined;
      let rv = '';
      do {
        this.lists++;
        const page = await listPage(this.options.client, this.options.gvr, this.options.namespace, {
          limit: PAGE_SIZE,
          continue: cont,
        });
        items.push(...page.items);
        cont = page.continue || undefined;
        rv = page.resourceVersion;
      } while (cont);
      if (this.stopped) return;
      this.options.sink.replace(items);
      this.resourceVersion = rv;
      this.synced = true;
      this.failure = undefined;
    } catch (error) {
      const repeated = this.failure !== undefined;
      this.failure = { error, at: performance.now() };
      const status = statusOf(error);
      // Said once per streak of failures: a kind rotor may not read is retried quietly.
      this.options.log(status === 404 || repeated ? 'debug' : 'warn', `cannot list ${this.label}; retrying`, {
        status,
        error: String(error),
      });
      this.later(() => void this.run().catch(() => undefined), this.options.retryMs ?? RETRY_MS);
      throw error;
    }
    this.watch();
  }

  private watch(): void {
    if (this.stopped) return;
    let gone = false;
    const onEvent = (phase: WatchPhase, obj: KubeObject) => {
      if (phase === 'ERROR') {
        if (statusOf(obj) === 410) gone = true;
        return;
      }
      if (obj.metadata?.resourceVersion) this.resourceVersion = obj.metadata.resourceVersion;
      if (phase === 'ADDED' || phase === 'MODIFIED') this.options.sink.upsert(obj);
      else if (phase === 'DELETED') this.options.sink.remove(obj);
      else return;
      for (const l of this.listeners) l({ phase, obj });
    };
    const onDone = (error: unknown) => {
      this.endStream();
      if (this.stopped) return;
      if (gone || statusOf(error) === 410) {
        this.resourceVersion = '';
        void this.run().catch(() => undefined);
        return;
      }
      if (error)
        this.options.log('debug', `watch of ${this.label} ended; resuming`, { error: String(error) });
      this.later(() => this.watch(), error ? 1_000 : 0);
    };
    this.watching = true;
    this.stream = (this.options.watch ?? startWatch)({
      kc: this.options.client.kc,
      path: collectionPath(this.options.gvr, this.options.namespace),
      params: { resourceVersion: this.resourceVersion, allowWatchBookmarks: true },
      onEvent,
      onDone,
    });
  }

  private later(fn: () => void, ms: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(fn, ms);
    this.timer.unref();
  }
}
