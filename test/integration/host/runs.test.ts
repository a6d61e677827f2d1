/**
 * Issue #17.5 / #16.2: GET /api/runs/{eventId} says what happened to a delivery, from the
 * state store (real Azurite): claimed by whom, since when, in progress or completed, what
 * finished, and how the rollouts the run restarted ended once the follow-up recorded them.
 */
import { hostname } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import type { RolloutResult } from '../../../lib/outcome.js';
import type { RunStatus } from '../../../lib/run-status.js';
import { apiUrl, freshEvents, type HostUnderTest, notify, startHostUnderTest } from './support.js';

let running: HostUnderTest | undefined;
afterEach(async () => {
  await running?.host.close();
  await running?.app.close();
  running = undefined;
});

const newVersion = () => freshEvents('eventgrid/keyvault-secret-new-version.eventgrid.json');

async function runsOf(
  eventId: string,
): Promise<{ status: number; body: { runs?: RunStatus[]; error?: string } }> {
  const res = await fetch(apiUrl(running!.host, `runs/${encodeURIComponent(eventId)}`));
  return { status: res.status, body: (await res.json()) as { runs?: RunStatus[]; error?: string } };
}

/** A gate the test opens: what a slow pipeline step or rollout waits on. */
function gate<T = void>() {
  let open: (value: T) => void = () => undefined;
  const opened = new Promise<T>((resolve) => {
    open = resolve;
  });
  return { open, opened };
}

describe('GET /api/runs/{eventId}', () => {
  it('in progress: claimed by this instance since the claim; completed: when, by whom, and the outcome', async () => {
    const slow = gate();
    const started = gate();
    running = await startHostUnderTest({
      onProcess: async () => {
        started.open();
        await slow.opened;
      },
    });
    const [event] = newVersion();
    const before = Date.now();

    const delivery = notify(running.host, [event]);
    await started.opened;
    const during = await runsOf(String(event!.id));

    expect(during.status).toBe(200);
    expect(during.body.runs).toHaveLength(1);
    const claimed = during.body.runs![0]!;
    expect(claimed).toMatchObject({ eventId: event!.id, source: 'eventgrid', state: 'in-progress' });
    expect(claimed.claimedBy).toBe(`${hostname()}:${process.pid}`);
    expect(Date.parse(claimed.claimedAt!)).toBeGreaterThanOrEqual(before - 1_000);
    expect(Date.parse(claimed.expiresAt!)).toBeGreaterThan(Date.now());

    slow.open();
    expect((await delivery).status).toBe(200);
    const after = await runsOf(String(event!.id));

    const done = after.body.runs![0]!;
    expect(done.state).toBe('completed');
    expect(done.claimedBy).toBe(claimed.claimedBy);
    expect(done.claimedAt).toBe(claimed.claimedAt);
    expect(Date.parse(done.completedAt!)).toBeGreaterThanOrEqual(Date.parse(claimed.claimedAt!));
    expect(done.outcome).toMatchObject({ eventId: event!.id, status: 'nothing-to-do' });
  });

  it('shows the rollout follow-up: following after the answer, then how each rollout ended', async () => {
    const rolledOut = gate<RolloutResult>();
    running = await startHostUnderTest({
      ports: {
        resolve: async () => [
          { cluster: 'fake', operator: 'eso', kind: 'ExternalSecret', namespace: 'app', name: 'db' },
        ],
        refresh: async () => ({
          results: [],
          changed: [{ cluster: 'fake', kind: 'Secret', namespace: 'app', name: 'db' }],
        }),
        restart: async () => [
          {
            status: 'restarted',
            cluster: 'fake',
            kind: 'Deployment',
            namespace: 'app',
            name: 'api',
            hashes: ['h'],
          },
        ],
        follow: () => rolledOut.opened,
      },
    });
    const [event] = newVersion();

    expect((await notify(running.host, [event])).status).toBe(200);
    const answered = (await runsOf(String(event!.id))).body.runs![0]!;
    expect(answered.rollouts).toBe('following');
    expect(answered.outcome?.workloads[0]).toMatchObject({ name: 'api', rollout: { status: 'following' } });

    rolledOut.open({ status: 'rolled-out', ms: 1234 });
    let ended: RunStatus | undefined;
    for (let i = 0; i < 100 && ended?.rollouts !== 'ended'; i++) {
      await new Promise((r) => setTimeout(r, 50));
      ended = (await runsOf(String(event!.id))).body.runs![0];
    }
    expect(ended?.rollouts).toBe('ended');
    expect(ended?.outcome?.workloads[0]).toMatchObject({ rollout: { status: 'rolled-out', ms: 1234 } });
  });

  it('404 for an event never received; 400 for an id with a control character; 401 without the key', async () => {
    running = await startHostUnderTest();

    const unknown = await runsOf('never-delivered-0000');
    expect(unknown.status).toBe(404);
    expect(unknown.body.error).toBe('not_found');

    const bad = await runsOf('abc\u0001def');
    expect(bad.status).toBe(400);
    expect(bad.body.error).toBe('invalid_input');

    const keyless = await fetch(`${running.host.url}/api/runs/anything`);
    expect(keyless.status).toBe(401);
    const wrongMethod = await fetch(apiUrl(running.host, 'runs/anything'), { method: 'DELETE' });
    expect(wrongMethod.status).toBe(405);
    const noId = await fetch(apiUrl(running.host, 'runs'));
    expect(noId.status).toBe(404);
  });
});
