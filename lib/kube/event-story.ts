import type { RefreshResult, RolloutResult, WorkloadResult } from '../outcome.js';
import { GVR, type Gvr } from './api/gvr.js';

/**
 * What rotor tells each object it touched, as Kubernetes Events (the way Reloader records
 * Reloaded / ReloadFail), so `kubectl describe` tells the story where people look. Pure:
 * results in, Events out; event-recorder.ts writes them. Every message names the secret,
 * its version and rotor's event id, never a value.
 *
 *   ExternalSecret / ClusterExternalSecret / VaultStaticSecret:
 *     Refreshed (Normal)        refresh forced and synced, with the time and whether the Secret changed
 *     RefreshFailed (Warning)   the operator's reason
 *     RefreshIgnored (Warning)  the operator would ignore a force; what to change
 *   the workload:
 *     Restarted (Normal) / RestartFailed (Warning)
 *     RolledOut (Normal) / RolloutFailed (Warning)   when the restart was followed to its end
 * An undone rotation (lib/rotation/verified.ts) is told by its run `<event id>-undo`.
 */
export type EventReason =
  | 'Refreshed'
  | 'RefreshFailed'
  | 'RefreshIgnored'
  | 'Restarted'
  | 'RestartFailed'
  | 'RolledOut'
  | 'RolloutFailed';

export interface RotorEvent {
  type: 'Normal' | 'Warning';
  reason: EventReason;
  message: string;
}

/** The object an Event is about; `namespace` '' for cluster-scoped objects. */
export interface EventSubject {
  gvr: Gvr;
  namespace: string;
  name: string;
}

export interface StoryEvent {
  subject: EventSubject;
  event: RotorEvent;
  /**
   * The one thing this Event is about, when several runs tell it: a coalesced restart's
   * rollout (its generation) is reported by every run whose change it carries, and is one
   * Event (event-recorder.ts).
   */
  once?: string;
}

/** The run the Events belong to. */
export interface StoryContext {
  eventId: string;
  /** The secret, as refKey() spells it. */
  ref: string;
  /** The version consumers move to (rotor's new version, or the event's), when known. */
  version?: string;
}

/** One telling: refresh results and workload results of one cluster (with `rollout` once followed). */
export interface Story extends StoryContext {
  refreshes?: readonly RefreshResult[];
  workloads?: readonly WorkloadResult[];
}

const KINDS: Record<string, Gvr> = Object.fromEntries(Object.values(GVR).map((g) => [g.kind, g]));

/** Every Event the story gives, in result order; objects of kinds rotor does not know get none. */
export function eventsOf(story: Story): StoryEvent[] {
  const out: StoryEvent[] = [];
  for (const r of story.refreshes ?? []) {
    const event = refreshEvent(story, r);
    const gvr = KINDS[r.kind];
    if (event && gvr) out.push({ subject: { gvr, namespace: r.namespace, name: r.name }, event });
  }
  for (const w of story.workloads ?? []) {
    const event = workloadEvent(story, w);
    const gvr = KINDS[w.kind];
    const once = w.status === 'restarted' ? rolloutOf(w) : undefined;
    if (event && gvr)
      out.push({ subject: { gvr, namespace: w.namespace, name: w.name }, event, ...(once ? { once } : {}) });
  }
  return out;
}

/** "for <ref> version <v> (rotor event <id>)": what every message says about the change. */
/** What identifies one rollout of a workload: the Job created for it, or the generation written. */
function rolloutOf(w: Extract<WorkloadResult, { status: 'restarted' }>): string | undefined {
  if (w.job) return `job ${w.job}`;
  return w.generation === undefined ? undefined : `generation ${w.generation}`;
}

function changeText(ctx: StoryContext): string {
  const version = ctx.version ? ` version ${ctx.version}` : '';
  return `${ctx.ref}${version} (rotor event ${ctx.eventId})`;
}

function refreshEvent(ctx: StoryContext, r: RefreshResult): RotorEvent | undefined {
  const about = changeText(ctx);
  switch (r.status) {
    case 'refreshed': {
      const secret = r.targetSecret
        ? `; Secret ${r.targetSecret} ${r.secretChanged ? 'has new data' : 'unchanged'}`
        : '';
      return {
        type: 'Normal',
        reason: 'Refreshed',
        message: `rotor forced a refresh for ${about}: synced in ${r.ms} ms${secret}`,
      };
    }
    case 'failed':
      return {
        type: 'Warning',
        reason: 'RefreshFailed',
        message: `rotor forced a refresh for ${about}: ${r.error.message}`,
      };
    case 'not-forceable':
      return {
        type: 'Warning',
        reason: 'RefreshIgnored',
        message: `rotor did not force a refresh for ${about}: ${r.reason}${r.fix ? `; ${r.fix}` : ''}`,
      };
    default:
      return undefined;
  }
}

function workloadEvent(ctx: StoryContext, w: WorkloadResult): RotorEvent | undefined {
  const about = changeText(ctx);
  if (w.status === 'failed') {
    return {
      type: 'Warning',
      reason: 'RestartFailed',
      message: `rotor could not restart it for ${about}: ${w.error.message}`,
    };
  }
  if (w.status !== 'restarted') return undefined;
  const rollout = w.rollout;
  if (!rollout) {
    const job = w.job ? ` (Job ${w.job})` : '';
    return { type: 'Normal', reason: 'Restarted', message: `rotor restarted it${job} for ${about}` };
  }
  // Restarted was told at the restart; a rollout is told once it has ended.
  if (rollout.status === 'following' || rollout.status === 'not-followed') return undefined;
  return rolloutEvent(about, rollout);
}

function rolloutEvent(about: string, r: Exclude<RolloutResult, { status: 'not-followed' }>): RotorEvent {
  const seconds = (r.ms / 1000).toFixed(1);
  if (r.status === 'rolled-out') {
    return {
      type: 'Normal',
      reason: 'RolledOut',
      message: `rolled out in ${seconds} s after rotor's restart for ${about}`,
    };
  }
  return {
    type: 'Warning',
    reason: 'RolloutFailed',
    message: `rollout failed after ${seconds} s (${r.reason}: ${r.message}) after rotor's restart for ${about}`,
  };
}
