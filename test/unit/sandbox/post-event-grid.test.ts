import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { postEventGrid } from '../../sandbox/scenarios.js';

/** A webhook answering each delivery with the next of `answers` (status, body), then 200. */
async function webhook(
  answers: Array<[number, unknown]>,
): Promise<{ url: string; server: Server; hits: () => number }> {
  let hits = 0;
  const server = createServer((req, res) => {
    req.resume();
    const [status, body] = answers[hits] ?? [200, {}];
    hits++;
    res.writeHead(status, {
      'content-type': 'application/json',
      ...(status === 503 ? { 'retry-after': '0' } : {}),
    });
    res.end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server, hits: () => hits };
}

const servers: Server[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});

const STATE_DOWN = {
  error: 'state_unavailable',
  message: 'cannot create or reach table rotorIdempotency: connect ECONNREFUSED 127.0.0.1:10002',
};

describe('the demo delivers Key Vault events as Event Grid does', () => {
  it('delivers a 503 again until the host accepts it', async () => {
    const hook = await webhook([
      [503, STATE_DOWN],
      [503, STATE_DOWN],
    ]);
    servers.push(hook.server);
    const retries: string[] = [];

    const res = await postEventGrid({ host: { url: hook.url, key: 'k' } }, [{}], {
      onRetry: (reason) => retries.push(reason),
    });

    expect(res.status).toBe(200);
    expect(hook.hits()).toBe(3);
    expect(retries[0]).toContain('ECONNREFUSED');
  });

  it("gives up after the last attempt with the host's reason, and never retries a 400", async () => {
    const down = await webhook(Array.from({ length: 10 }, () => [503, STATE_DOWN] as [number, unknown]));
    const bad = await webhook([[400, { error: 'invalid_input', message: 'not an event' }]]);
    servers.push(down.server, bad.server);

    await expect(postEventGrid({ host: { url: down.url, key: 'k' } }, [{}], { attempts: 3 })).rejects.toThrow(
      /503 after 3 attempt\(s\): cannot create or reach table rotorIdempotency: connect ECONNREFUSED/,
    );
    await expect(postEventGrid({ host: { url: bad.url, key: 'k' } }, [{}])).rejects.toThrow(
      /400 after 1 attempt\(s\): not an event/,
    );
    expect(bad.hits()).toBe(1);
  });
});
