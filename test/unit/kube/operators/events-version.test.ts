import { describe, expect, it } from 'vitest';
import type { ClusterClient } from '../../../../lib/kube/cluster.js';
import { eventsVersion } from '../../../../lib/kube/operators/events-version.js';

/** A cluster whose event LISTs answer when the test says, each with the next version. */
function cluster(fail = false) {
  const sent: Array<{ namespace: string; answer: () => void }> = [];
  let version = 0;
  const client = {
    name: 'alpha',
    core: {
      listNamespacedEvent: ({ namespace }: { namespace: string }) =>
        new Promise((resolve, reject) => {
          const v = String(++version);
          sent.push({
            namespace,
            answer: () =>
              fail ? reject(new Error('forbidden')) : resolve({ metadata: { resourceVersion: v } }),
          });
        }),
    },
  } as unknown as ClusterClient;
  return { client, sent };
}
const tick = () => new Promise((r) => setImmediate(r));

describe('eventsVersion: where a refresh watches Warning Events from', () => {
  it('refreshes that ask at once share one LIST', async () => {
    const { client, sent } = cluster();
    const reads = [eventsVersion(client, 'app'), eventsVersion(client, 'app'), eventsVersion(client, 'app')];
    await tick();
    expect(sent).toHaveLength(1);
    sent[0]?.answer();
    expect(await Promise.all(reads)).toEqual(['1', '1', '1']);
  });

  it('a refresh that asks while a LIST is on its way gets a later one, sent after it asked', async () => {
    const { client, sent } = cluster();
    const first = eventsVersion(client, 'app');
    await tick();
    expect(sent).toHaveLength(1);
    // Asked after the first LIST was sent: its answer may predate this caller's force.
    const late = [eventsVersion(client, 'app'), eventsVersion(client, 'app')];
    await tick();
    expect(sent).toHaveLength(1); // one in flight at a time
    sent[0]?.answer();
    expect(await first).toBe('1');
    await tick();
    expect(sent).toHaveLength(2);
    sent[1]?.answer();
    expect(await Promise.all(late)).toEqual(['2', '2']);
  });

  it('namespaces and clusters do not share', async () => {
    const a = cluster();
    const b = cluster();
    const reads = [
      eventsVersion(a.client, 'app'),
      eventsVersion(a.client, 'web'),
      eventsVersion(b.client, 'app'),
    ];
    await tick();
    expect(a.sent.map((s) => s.namespace)).toEqual(['app', 'web']);
    expect(b.sent).toHaveLength(1);
    for (const s of [...a.sent, ...b.sent]) s.answer();
    expect(await Promise.all(reads)).toEqual(['1', '2', '1']);
  });

  it('without the events verbs the answer is undefined, for everyone who shared the read', async () => {
    const { client, sent } = cluster(true);
    const reads = [eventsVersion(client, 'app'), eventsVersion(client, 'app')];
    await tick();
    sent[0]?.answer();
    expect(await Promise.all(reads)).toEqual([undefined, undefined]);
    // The lane is free again: the next caller gets a read of its own.
    const again = eventsVersion(client, 'app');
    await tick();
    expect(sent).toHaveLength(2);
    sent[1]?.answer();
    expect(await again).toBeUndefined();
  });
});
