import { randomUUID } from 'node:crypto';
import type { Clock } from '../../clock.js';
import { getObject } from '../api/custom-objects.js';
import { collectionPath, type Gvr } from '../api/gvr.js';
import { type KubeObject, qualified } from '../api/objects.js';
import type { ClusterClient } from '../cluster.js';
import { type AwaitOutcome, awaitObject, type Verdict } from './await.js';
import { awaitWarning, latestWarning, type WarningEvent } from './events.js';

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
  /** Warning Events newer than `notBefore` fail the refresh at once, with the backend's message. */
  events?: { version: string | undefined; notBefore: Date };
  deadline: number;
  timeoutMs: number;
  /** The object's state in words, for timeout messages. */
  describe: (obj: KubeObject | undefined) => string;
}

export type AwaitResult = { ok: true; object: KubeObject } | { ok: false; error: string };

function eventText(w: WarningEvent): string {
  return `${w.reason}: ${w.message}`;
}

/** Waits, by watching, until the operator has acted on the forced object; bounded by the deadline. */
export async function awaitRefresh(client: ClusterClient, spec: AwaitSpec): Promise<AwaitResult> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), Math.max(0, spec.deadline - Date.now()));
  const subject = `${spec.gvr.kind} ${qualified(spec.namespace, spec.name)}`;
  const objectDone = awaitObject({
    kc: client.kc,
    path: collectionPath(spec.gvr, spec.namespace),
    name: spec.name,
    resourceVersion: spec.resourceVersion,
    get: () => getObject(client, spec.gvr, spec.namespace, spec.name),
    evaluate: spec.evaluate,
    signal: controller.signal,
  }).then((o) => ({ source: 'object' as const, o }));
  const eventQuery = spec.events && {
    namespace: spec.namespace,
    kind: spec.gvr.kind,
    name: spec.name,
    notBefore: spec.events.notBefore,
  };
  type First = { source: 'object'; o: AwaitOutcome } | { source: 'event'; w: WarningEvent };
  const warned: Promise<First> =
    spec.events?.version && eventQuery
      ? awaitWarning(client, eventQuery, spec.events.version, controller.signal).then(
          (w): First | Promise<First> => (w ? { source: 'event', w } : objectDone),
        )
      : objectDone;
  try {
    const first: First = await Promise.race<First>([objectDone, warned]);
    if (first.source === 'event')
      return { ok: false, error: `${subject}: the operator reported ${eventText(first.w)}` };
    const o = first.o;
    if (o.state === 'done') return { ok: true, object: o.object };
    const last = eventQuery ? await latestWarning(client, eventQuery) : undefined;
    const suffix = last ? `; last event ${eventText(last)}` : '';
    if (o.state === 'failed') return { ok: false, error: `${subject}: ${o.error}${suffix}` };
    if (o.state === 'forbidden') {
      return {
        ok: false,
        error: `forbidden: watch ${spec.gvr.plural}.${spec.gvr.group} in ${spec.namespace || 'the cluster'}: ${o.error} (grant 'watch' to rotor in infra/k8s/rbac.yaml)`,
      };
    }
    return {
      ok: false,
      error: `timeout: ${subject} did not finish its refresh within ${spec.timeoutMs / 1000} s (${spec.describe(o.object)})${suffix}`,
    };
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
}
