import { sendEventGrid } from '../../sandbox/scenarios.js';

/**
 * Delivers Key Vault events to rotor's Event Grid route as Event Grid does: any answer but
 * 2xx, or no answer at all (the host is down), is delivered again after a backoff, until a
 * deadline (Event Grid waits 10 s, 30 s, 1 min, ... for 24 h; tests compress the schedule).
 * 400 and 413 are final, as Event Grid dead-letters them.
 */
export interface Delivery {
  status: number;
  attempts: number;
  /** The JSON body of the accepted delivery. */
  body: unknown;
  /** Why earlier attempts failed (status or network error), in order. */
  failures: string[];
}

export interface SenderOptions {
  /** First backoff; doubles up to `maxBackoffMs`. */
  backoffMs?: number;
  maxBackoffMs?: number;
  deadlineMs?: number;
  /** Jitter in [0, 1): a seeded generator keeps a chaos run reproducible. */
  random?: () => number;
}

export async function deliverLikeEventGrid(
  host: { url: string; key: string },
  events: unknown[],
  options: SenderOptions = {},
): Promise<Delivery> {
  const deadline = Date.now() + (options.deadlineMs ?? 60_000);
  const failures: string[] = [];
  let backoff = options.backoffMs ?? 100;
  for (let attempt = 1; ; attempt++) {
    const answer = await postEventGridOnce(host, events);
    if (answer && (answer.ok || answer.status === 400 || answer.status === 413))
      return { status: answer.status, attempts: attempt, body: answer.body, failures };
    failures.push(answer ? `${answer.status} ${JSON.stringify(answer.body).slice(0, 200)}` : 'no answer');
    if (Date.now() + backoff > deadline)
      throw new Error(`not delivered after ${attempt} attempts: ${failures.slice(-3).join(' | ')}`);
    await new Promise((r) => setTimeout(r, backoff * (1 + (options.random?.() ?? 0))));
    backoff = Math.min(options.maxBackoffMs ?? 2_000, backoff * 2);
  }
}

/** One delivery attempt; `undefined` when no answer came (refused or cut connection, or 30 s passed). */
export async function postEventGridOnce(
  host: { url: string; key: string },
  events: unknown[],
): Promise<{ status: number; ok: boolean; body: unknown } | undefined> {
  try {
    const res = await sendEventGrid({ host }, events, AbortSignal.timeout(30_000));
    const text = await res.text();
    return { status: res.status, ok: res.ok, body: text ? (JSON.parse(text) as unknown) : undefined };
  } catch {
    return undefined;
  }
}

/** A small seeded generator (mulberry32): the same seed replays the same chaos. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
