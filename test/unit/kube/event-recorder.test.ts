import { describe, expect, it } from 'vitest';
import type { ClusterClient } from '../../../lib/kube/cluster.js';
import { EventRecorder } from '../../../lib/kube/event-recorder.js';
import { eventsOf } from '../../../lib/kube/event-story.js';
import type { WorkloadResult } from '../../../lib/outcome.js';
import { ManualClock, restarted } from '../support/fake-ports.js';

function fakeCluster() {
  const created: Array<{ reason?: string; message?: string; uid?: string }> = [];
  let reads = 0;
  const client = {
    name: 'alpha',
    core: {
      createNamespacedEvent: async ({
        body,
      }: {
        body: { reason?: string; message?: string; involvedObject: { uid?: string } };
      }) => {
        created.push({ reason: body.reason, message: body.message, uid: body.involvedObject.uid });
        return body;
      },
    },
    custom: {
      getNamespacedCustomObject: async () => {
        reads++;
        return { metadata: { uid: 'uid-web' } };
      },
    },
  } as unknown as ClusterClient;
  return { client, created, reads: () => reads };
}

const web = (generation: number): WorkloadResult => ({ ...restarted('alpha', 'web'), generation });
const told = (run: number, workload: WorkloadResult) =>
  eventsOf({ eventId: `ev-${run}`, ref: `azure-keyvault:kv/s-${run}`, workloads: [workload] });

describe('EventRecorder: one Event per rollout, however many runs report it', () => {
  it('writes one Restarted Event for a rollout ten runs report together, naming the first change and counting the others; the uid is read once', async () => {
    const { client, created, reads } = fakeCluster();
    const recorder = new EventRecorder(client, { clock: new ManualClock() });

    for (let run = 0; run < 10; run++) recorder.recordAll(told(run, web(7)));
    await recorder.pending();

    expect(created).toEqual([
      {
        reason: 'Restarted',
        message:
          'rotor restarted it for azure-keyvault:kv/s-0 (rotor event ev-0) (and 9 other changes in this rollout)',
        uid: 'uid-web',
      },
    ]);
    expect(reads()).toBe(1);
  });

  it('a run reporting the same rollout later adds no Event; the next rollout gets its own', async () => {
    const { client, created } = fakeCluster();
    const clock = new ManualClock();
    const recorder = new EventRecorder(client, { clock });

    recorder.recordAll(told(1, web(7)));
    await recorder.pending();
    clock.advance(5_000);
    recorder.recordAll(told(2, web(7)));
    recorder.recordAll(told(3, web(8)));
    await recorder.pending();

    expect(created.map((e) => e.message)).toEqual([
      'rotor restarted it for azure-keyvault:kv/s-1 (rotor event ev-1)',
      'rotor restarted it for azure-keyvault:kv/s-3 (rotor event ev-3)',
    ]);
  });

  it('writes every Event that is not about a rollout (each run refreshed its own object)', async () => {
    const { client, created, reads } = fakeCluster();
    const clock = new ManualClock();
    const recorder = new EventRecorder(client, { clock });
    const failed: WorkloadResult = {
      status: 'failed',
      cluster: 'alpha',
      kind: 'Deployment',
      namespace: 'app',
      name: 'web',
      error: { code: 'forbidden', message: 'no patch', retryable: false },
    };

    recorder.recordAll(told(1, failed));
    recorder.recordAll(told(2, failed));
    await recorder.pending();
    clock.advance(10_000);
    recorder.recordAll(told(3, failed));
    await recorder.pending();

    expect(created.map((e) => e.reason)).toEqual(['RestartFailed', 'RestartFailed', 'RestartFailed']);
    expect(reads()).toBe(2); // read again once the kept uid is 10 s old
  });

  it('takes the uid from what rotor already holds (its object cache) and reads nothing', async () => {
    const { client, created, reads } = fakeCluster();
    const recorder = new EventRecorder(client, {
      clock: new ManualClock(),
      uidOf: (s) => (s.name === 'web' ? 'uid-cached' : undefined),
    });

    recorder.recordAll(told(1, web(7)));
    await recorder.pending();

    expect(created.map((e) => e.uid)).toEqual(['uid-cached']);
    expect(reads()).toBe(0);
  });
});
