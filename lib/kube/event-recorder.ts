import { hostname } from 'node:os';
import type { CoreV1Event } from '@kubernetes/client-node';
import { type Clock, systemClock } from '../clock.js';
import { describeError } from '../errors.js';
import { getObject } from './api/custom-objects.js';
import type { ClusterClient } from './cluster.js';
import type { EventSubject, RotorEvent, StoryEvent } from './event-story.js';

export type EventLog = (message: string, fields: Record<string, unknown>) => void;

const REPORTING_COMPONENT = 'rotor';
/** The API server refuses longer messages. */
const MAX_MESSAGE = 1024;
/** Where Events about cluster-scoped objects (ClusterExternalSecret) go, as kubectl looks for them. */
const CLUSTER_SCOPED_NAMESPACE = 'default';
/** An object's uid is read once for the Events of a burst, not once per Event. */
const UID_KEPT_MS = 10_000;
/** How long a rollout told once (StoryEvent.once) is remembered, so a late teller adds no Event. */
const TOLD_KEPT_MS = 10 * 60_000;

/**
 * Writes the Events of event-story.ts in one cluster. `kubectl describe` finds an object's
 * Events by involvedObject name, namespace, kind and uid, so the object is read for its uid
 * (one GET, off the critical path) before the Event is created.
 *
 * Best effort and off the critical path: record() never rejects; a failed write (no
 * `create` on events, a namespace being deleted, the object gone) is logged and dropped.
 * pending() lets a closing host wait for what is in flight.
 *
 * In a burst, a Deployment whose ten Secrets changed is restarted once and each of the ten
 * runs reports that rollout: the Events the runs tell about one rollout in the same turn of
 * the event loop become one Event naming the first change and how many others it carried
 * (client-go's recorder aggregates similar Events too), and a teller arriving later adds
 * none. The object's uid is read once per burst. Each was an API write or read per run.
 */
export class EventRecorder {
  private readonly instance = hostname();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly gathering = new Map<string, { others: number }>();
  private readonly told = new Map<string, number>();
  private readonly uids = new Map<string, { at: number; uid: Promise<string | undefined> }>();

  constructor(
    private readonly client: ClusterClient,
    private readonly deps: {
      clock?: Clock;
      log?: EventLog;
      /** The uid when rotor already holds the object (its object cache): no read at all. */
      uidOf?: (subject: EventSubject) => string | undefined;
    } = {},
  ) {}

  /** Starts writing the Events; returns at once. */
  recordAll(events: readonly StoryEvent[]): void {
    for (const e of events) {
      if (e.once === undefined) this.track(this.record(e.subject, e.event));
      else this.recordOnce(e, `${subjectKey(e.subject)}|${e.event.reason}|${e.once}`);
    }
  }

  private recordOnce(e: StoryEvent, key: string): void {
    const gathering = this.gathering.get(key);
    if (gathering) {
      gathering.others++;
      return;
    }
    const now = this.now();
    for (const [k, at] of this.told) {
      if (at > now - TOLD_KEPT_MS) break; // oldest first
      this.told.delete(k);
    }
    if (this.told.has(key)) return;
    const group = { others: 0 };
    this.gathering.set(key, group);
    this.told.set(key, now);
    this.track(
      new Promise((resolve) => setImmediate(resolve)).then(() => {
        this.gathering.delete(key);
        const others = group.others === 1 ? '1 other change' : `${group.others} other changes`;
        const message =
          group.others > 0 ? `${e.event.message} (and ${others} in this rollout)` : e.event.message;
        return this.record(e.subject, { ...e.event, message });
      }),
    );
  }

  private track(p: Promise<void>): void {
    const tracked = p.finally(() => this.inFlight.delete(tracked));
    this.inFlight.add(tracked);
  }

  private now(): number {
    return (this.deps.clock ?? systemClock).now().getTime();
  }

  /** Records one Event; resolves when written or given up on (never rejects). */
  async record(subject: EventSubject, event: RotorEvent): Promise<void> {
    try {
      const uid = await this.readUid(subject);
      const body = eventBody(subject, event, {
        uid,
        now: (this.deps.clock ?? systemClock).now(),
        instance: this.instance,
      });
      await this.client.core.createNamespacedEvent({
        namespace: body.metadata.namespace as string,
        body,
      });
    } catch (error) {
      this.deps.log?.('recording a Kubernetes Event failed', {
        cluster: this.client.name,
        object: `${subject.gvr.kind} ${subject.namespace}/${subject.name}`,
        reason: event.reason,
        error: describeError(error).message,
      });
    }
  }

  /** Resolves when every Event started so far is written or given up on. */
  async pending(): Promise<void> {
    await Promise.all([...this.inFlight]);
  }

  private readUid(subject: EventSubject): Promise<string | undefined> {
    const known = this.deps.uidOf?.(subject);
    if (known) return Promise.resolve(known);
    const key = subjectKey(subject);
    const now = this.now();
    const cached = this.uids.get(key);
    if (cached && cached.at > now - UID_KEPT_MS) return cached.uid;
    for (const [k, entry] of this.uids) if (entry.at <= now - UID_KEPT_MS) this.uids.delete(k);
    const uid = getObject(this.client, subject.gvr, subject.namespace, subject.name).then(
      (o) => o.metadata?.uid,
    );
    this.uids.set(key, { at: now, uid });
    uid.catch(() => this.uids.delete(key));
    return uid;
  }
}

function subjectKey({ gvr, namespace, name }: EventSubject): string {
  return `${gvr.group}/${gvr.kind}/${namespace}/${name}`;
}

/** The core/v1 Event, as client-go's recorder writes it (count 1, first = last timestamp). */
export function eventBody(
  subject: EventSubject,
  event: RotorEvent,
  at: { uid: string | undefined; now: Date; instance: string },
): CoreV1Event & { metadata: { namespace: string } } {
  const { gvr, name } = subject;
  const namespace = subject.namespace || CLUSTER_SCOPED_NAMESPACE;
  const message =
    event.message.length > MAX_MESSAGE ? `${event.message.slice(0, MAX_MESSAGE - 1)}…` : event.message;
  return {
    metadata: { generateName: `${name}.`, namespace },
    involvedObject: {
      apiVersion: gvr.group ? `${gvr.group}/${gvr.version}` : gvr.version,
      kind: gvr.kind,
      name,
      ...(subject.namespace ? { namespace: subject.namespace } : {}),
      ...(at.uid ? { uid: at.uid } : {}),
    },
    type: event.type,
    reason: event.reason,
    message,
    source: { component: REPORTING_COMPONENT },
    reportingComponent: REPORTING_COMPONENT,
    reportingInstance: at.instance,
    firstTimestamp: at.now,
    lastTimestamp: at.now,
    count: 1,
  };
}
