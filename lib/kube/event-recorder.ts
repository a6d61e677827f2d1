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

/**
 * Writes the Events of event-story.ts in one cluster. `kubectl describe` finds an object's
 * Events by involvedObject name, namespace, kind and uid, so the object is read for its uid
 * (one GET, off the critical path) before the Event is created.
 *
 * Best effort and off the critical path: record() never rejects; a failed write (no
 * `create` on events, a namespace being deleted, the object gone) is logged and dropped.
 * pending() lets a closing host wait for what is in flight.
 */
export class EventRecorder {
  private readonly instance = hostname();
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly client: ClusterClient,
    private readonly deps: { clock?: Clock; log?: EventLog } = {},
  ) {}

  /** Starts writing the Events; returns at once. */
  recordAll(events: readonly StoryEvent[]): void {
    for (const e of events) {
      const p = this.record(e.subject, e.event).finally(() => this.inFlight.delete(p));
      this.inFlight.add(p);
    }
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

  private async readUid(subject: EventSubject): Promise<string | undefined> {
    const obj = await getObject(this.client, subject.gvr, subject.namespace, subject.name);
    return obj.metadata?.uid;
  }
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
