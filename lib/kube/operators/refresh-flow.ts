import { randomUUID } from 'node:crypto';
import type { Clock } from '../../clock.js';
import { ForbiddenError, RotorError, SyncFailedError, TimeoutError } from '../../errors.js';
import { getObject } from '../api/custom-objects.js';
import { collectionPath, type Gvr } from '../api/gvr.js';
import { type KubeObject, qualified } from '../api/objects.js';
import type { ClusterClient } from '../cluster.js';
import { type AwaitOutcome, awaitObject, type Verdict } from './await.js';
import { awaitWarning, latestWarning, type WarningEvent } from './events.js';
import { awaitFromTap, type Tap } from './shared-watch.js';

/** Annotation rotor writes to force a sync: the ESO convention, honoured by VSO as any annotation change. */
export const FORCE_SYNC_ANNOTATION = 'force-sync';

/** A value never written before, so the patch always changes the object's metadata. */
export function forceValue(clock: Clock): string {
  return `${clock.now().toISOString()}_${randomUUID().slice(0, 8)}`;
}

/** Condition times have one-second precision: compare against the second of the patch. */
export function floorToSecond(d: Date): Date {
  return new Date(Math.floor(d.getTime() / 1000) * 1000);
}

export function atOrAfter(time: string | undefined, t: Date): boolean {
  return time !== undefined && new Date(time).getTime() >= t.getTime();
}

export interface AwaitSpec {
  gvr: Gvr;
  namespace: string;
  name: string;
  /** Version to watch from: our patch's, or the object's as read before the force. */
  resourceVersion: string;
  evaluate: (obj: KubeObject) => Verdict;
  /** Opened before the force: the object is followed on the shared watch, no watch of its own. */
  tap?: Tap;
  /**
   * Warning Events newer than `notBefore` fail the refresh at once, with the backend's
   * message, unless `benign` says the warning does not mean a failed sync.
   */
  events?: {
    /** Where the Warning watch starts; a promise when it is read beside the object's watch. */
    version: string | undefined | Promise<string | undefined>;
    notBefore: Date;
    benign?: (w: WarningEvent) => boolean;
  };
  /**
   * The object was already failing before the force. An operator that fails again the same
   * way may write no new status and, past its event spam limit, no new event: when nothing
   * decides within `afterMs`, the refresh fails with the known failure instead of waiting
   * for the timeout.
   */
  knownFailure?: { afterMs: number; error: string };
  deadline: number;
  timeoutMs: number;
  /** The object's state in words, for timeout messages. */
  describe: (obj: KubeObject | undefined) => string;
}

export type AwaitResult = { ok: true; object: KubeObject } | { ok: false; error: RotorError };

function eventText(w: WarningEvent): string {
  return `${w.reason}: ${w.message}`;
}

/**
 * How long a refresh waits before it opens its Warning Event watch. Each watch is a new
 * connection (TLS handshake on both ends); most forced syncs end well within this, so
 * their refresh opens none. The watch starts from the version read beside the force, so
 * an earlier warning is still delivered, only later: a failure the operator reports by
 * Event alone is known this much later (one it writes to the status, at once). Why one
 * second: in the bench's burst (200 ExternalSecrets forced at once, CPU-bound on 2 cores) syncs took
 * 164–546 ms, so at 200 ms about a third of the refreshes opened a watch; an Event-only
 * failure learnt 0.8 s later matters to no one, beside refresh timeouts of a minute.
 */
export const EVENTS_WATCH_AFTER_MS = 1_000;

type First =
  | { source: 'object'; o: AwaitOutcome }
  | { source: 'event'; w: WarningEvent }
  | { source: 'known-failure'; error: string };

/** Waits, by watching, until the operator has acted on the forced object; bounded by the deadline. */
export async function awaitRefresh(client: ClusterClient, spec: AwaitSpec): Promise<AwaitResult> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), Math.max(0, spec.deadline - Date.now()));
  const subject = `${spec.gvr.kind} ${qualified(spec.namespace, spec.name)}`;
  const ownWatch = () =>
    awaitObject({
      kc: client.kc,
      path: collectionPath(spec.gvr, spec.namespace),
      name: spec.name,
      resourceVersion: spec.resourceVersion,
      get: () => getObject(client, spec.gvr, spec.namespace, spec.name),
      evaluate: spec.evaluate,
      signal: controller.signal,
    });
  const objectDone = (
    spec.tap
      ? awaitFromTap(spec.tap, spec.resourceVersion, spec.evaluate, controller.signal, ownWatch)
      : ownWatch()
  ).then((o): First => ({ source: 'object', o }));
  const eventQuery = spec.events && {
    namespace: spec.namespace,
    kind: spec.gvr.kind,
    name: spec.name,
    notBefore: spec.events.notBefore,
    ...(spec.events.benign ? { benign: spec.events.benign } : {}),
  };
  let watchTimer: NodeJS.Timeout | undefined;
  const watchLater = new Promise<void>((resolve) => {
    watchTimer = setTimeout(resolve, EVENTS_WATCH_AFTER_MS);
  });
  const warned: Promise<First> =
    spec.events && eventQuery
      ? Promise.all([spec.events.version, watchLater]).then(([version]) =>
          version && !controller.signal.aborted
            ? awaitWarning(client, eventQuery, version, controller.signal).then(
                (w): First | Promise<First> => (w ? { source: 'event', w } : objectDone),
              )
            : objectDone,
        )
      : objectDone;
  let quietTimer: NodeJS.Timeout | undefined;
  const known = spec.knownFailure;
  const quiet: Promise<First> = known
    ? new Promise<First>((resolve) => {
        quietTimer = setTimeout(
          () => resolve({ source: 'known-failure', error: known.error }),
          Math.min(known.afterMs, Math.max(0, spec.deadline - Date.now())),
        );
      })
    : objectDone;
  try {
    const first: First = await Promise.race<First>([objectDone, warned, quiet]);
    if (first.source === 'event')
      return {
        ok: false,
        error: new SyncFailedError(`${subject}: the operator reported ${eventText(first.w)}`),
      };
    // The last word of the operator, even from before the force: a failure that repeats
    // may have no newer one.
    const lastWords = async (): Promise<string> => {
      const last = eventQuery ? await latestWarning(client, eventQuery, true) : undefined;
      if (!last) return '';
      const when = last.at.getTime() >= (eventQuery?.notBefore.getTime() ?? 0) ? '' : ' (before the force)';
      return `; last event${when} ${eventText(last)}`;
    };
    if (first.source === 'known-failure') {
      return {
        ok: false,
        error: new SyncFailedError(
          `${subject}: still failing after the force, nothing new from the operator: ${first.error}${await lastWords()}`,
        ),
      };
    }
    const o = first.o;
    if (o.state === 'done') return { ok: true, object: o.object };
    if (o.state === 'failed') {
      const { code, retryable } = o.error;
      const message = `${subject}: ${o.error.message}${await lastWords()}`;
      return { ok: false, error: new RotorError(code, message, retryable, { cause: o.error }) };
    }
    if (o.state === 'forbidden') {
      return {
        ok: false,
        error: new ForbiddenError(
          `forbidden: watch ${spec.gvr.plural}.${spec.gvr.group} in ${spec.namespace || 'the cluster'}: ${o.error} (grant 'watch' to rotor in infra/k8s/rbac.yaml)`,
        ),
      };
    }
    return {
      ok: false,
      error: new TimeoutError(
        `timeout: ${subject} did not finish its refresh within ${spec.timeoutMs / 1000} s (${spec.describe(o.object)})${await lastWords()}`,
      ),
    };
  } finally {
    clearTimeout(timer);
    clearTimeout(quietTimer);
    clearTimeout(watchTimer);
    controller.abort();
  }
}
