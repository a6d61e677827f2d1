import type { KubeConfig } from '@kubernetes/client-node';
import { NotFoundError, type RotorError, SyncFailedError } from '../../errors.js';
import { kubeError, statusOf } from '../api/errors.js';
import type { KubeObject } from '../api/objects.js';
import { startWatch, type WatchHandle, type WatchPhase } from '../api/watch.js';

/** What a watched object says about the forced refresh. */
export type Verdict = { state: 'pending' } | { state: 'done' } | { state: 'failed'; error: string };

export type AwaitOutcome =
  | { state: 'done'; object: KubeObject }
  | { state: 'failed'; error: RotorError; object?: KubeObject }
  | { state: 'timeout'; object?: KubeObject }
  | { state: 'forbidden'; error: string };

export interface AwaitObjectOptions {
  kc: KubeConfig;
  /** Collection path, e.g. /apis/external-secrets.io/v1/namespaces/ns/externalsecrets */
  path: string;
  name: string;
  /** Watch starts after this version (the one our patch produced), so nothing is missed. */
  resourceVersion: string;
  /** Re-read when the server has compacted past our version (410 Gone). */
  get: () => Promise<KubeObject>;
  evaluate: (obj: KubeObject) => Verdict;
  signal: AbortSignal;
}

/** What one sighting of the object decides: done, failed with the operator's words, or nothing yet. */
export function decide(obj: KubeObject, evaluate: (obj: KubeObject) => Verdict): AwaitOutcome | undefined {
  const verdict = evaluate(obj);
  if (verdict.state === 'done') return { state: 'done', object: obj };
  if (verdict.state === 'failed')
    return { state: 'failed', error: new SyncFailedError(verdict.error), object: obj };
  return undefined;
}

const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 2_000;

/**
 * Follows one object by watch until `evaluate` decides, the signal aborts (timeout, or
 * another watcher decided first), or the identity may not watch. Server-side closes
 * and network blips resume from the last version seen.
 */
export function awaitObject(opts: AwaitObjectOptions): Promise<AwaitOutcome> {
  return new Promise((resolve) => {
    let last: KubeObject | undefined;
    let version = opts.resourceVersion;
    let retryMs = RETRY_MIN_MS;
    let settled = false;
    let current: WatchHandle | undefined;
    let timer: NodeJS.Timeout | undefined;

    const finish = (outcome: AwaitOutcome): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      opts.signal.removeEventListener('abort', onAbort);
      current?.stop();
      resolve(outcome);
    };
    const onAbort = (): void => finish({ state: 'timeout', object: last });
    if (opts.signal.aborted) return onAbort();
    opts.signal.addEventListener('abort', onAbort);

    const judge = (obj: KubeObject): void => {
      last = obj;
      version = obj.metadata?.resourceVersion || version;
      const decided = decide(obj, opts.evaluate);
      if (decided) finish(decided);
    };

    const resync = async (): Promise<void> => {
      try {
        judge(await opts.get());
      } catch (error) {
        finish({
          state: 'failed',
          error: kubeError(error, `re-reading ${opts.name} after the watch expired`),
        });
      }
    };

    const restart = (): void => {
      if (settled) return;
      timer = setTimeout(start, retryMs);
      retryMs = Math.min(retryMs * 2, RETRY_MAX_MS);
    };

    const onEvent = (phase: WatchPhase, obj: unknown): void => {
      if (settled) return;
      retryMs = RETRY_MIN_MS;
      if (phase === 'ADDED' || phase === 'MODIFIED') judge(obj as KubeObject);
      else if (phase === 'BOOKMARK') version = (obj as KubeObject).metadata?.resourceVersion ?? version;
      else if (phase === 'DELETED')
        finish({
          state: 'failed',
          error: new NotFoundError(`${opts.name} was deleted while waiting for its refresh`),
        });
      else if (phase === 'ERROR') {
        const code = statusOf(obj);
        if (code === 410) void resync();
        else if (code === 403)
          finish({ state: 'forbidden', error: (obj as { message?: string }).message ?? 'watch forbidden' });
      }
    };

    const onDone = (error: unknown): void => {
      if (settled) return;
      const code = statusOf(error);
      if (code === 403) {
        finish({ state: 'forbidden', error: `watch ${opts.path}: forbidden` });
        return;
      }
      if (code === 410) void resync().then(restart);
      else restart();
    };

    function start(): void {
      if (settled) return;
      current = startWatch({
        kc: opts.kc,
        path: opts.path,
        params: {
          resourceVersion: version,
          fieldSelector: `metadata.name=${opts.name}`,
          allowWatchBookmarks: true,
        },
        onEvent,
        onDone,
      });
    }
    start();
  });
}
