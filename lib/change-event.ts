import { randomUUID } from 'node:crypto';
import type { Clock } from './clock.js';
import { refKey, type SecretRef } from './secret-ref.js';

/** What happened to a secret, whatever told us. */
export type ChangeKind =
  | 'changed'
  | 'near-expiry'
  | 'expired'
  | 'deleted'
  | 'rotate-due'
  | 'rotate-requested';

/** Every source of events; an event's exactly-once key is `source:id`. */
export const EVENT_SOURCES = ['eventgrid', 'vault-audit', 'timer', 'manual', 'rotor'] as const;
export type EventSource = (typeof EVENT_SOURCES)[number];

/** An event's exactly-once key: the key of its idempotency record and of its claim. */
export function eventKey(source: string, id: string): string {
  return `${source}:${id}`;
}

export interface ChangeEvent {
  /** Delivery id used for exactly-once effects (Event Grid id, audit request id, ...). */
  id: string;
  ref: SecretRef;
  /** Backend version when the source states it (KV version id, KV v2 version number). */
  version?: string;
  kind: ChangeKind;
  source: EventSource;
  /** When the source says the change happened. */
  observedAt: Date;
  /** When rotor received it; start of the latency clock. */
  receivedAt: Date;
}

/** An event the source sent that rotor acknowledges and deliberately does nothing with. */
export interface IgnoredEvent {
  id: string;
  reason: string;
}

/**
 * Events with the same key ask for the same work: one run answers them all. Without a
 * version, "the secret's current state" is the version, so events of one delivery share it.
 */
export function changeKey(event: Pick<ChangeEvent, 'kind' | 'ref' | 'version'>): string {
  return `${event.kind}|${refKey(event.ref)}|${event.version ?? 'current'}`;
}

/** A request from the HTTP API or the CLI, as an event; its request id makes retries exactly-once. */
export function manualEvent(
  ref: SecretRef,
  kind: ChangeEvent['kind'],
  clock: Clock,
  requestId?: string,
): ChangeEvent {
  const now = clock.now();
  return {
    id: requestId ?? `manual-${randomUUID()}`,
    ref,
    kind,
    source: 'manual',
    observedAt: now,
    receivedAt: now,
  };
}
