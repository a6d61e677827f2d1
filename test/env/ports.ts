import net from 'node:net';

/**
 * Free loopback TCP ports, reserved together (so they are distinct) and released before
 * returning. Another process could take one in between; servers here bind within
 * milliseconds, which makes that rare enough for a test environment.
 */
export async function freePorts(count: number): Promise<number[]> {
  const servers: net.Server[] = [];
  try {
    const ports: number[] = [];
    for (let i = 0; i < count; i++) {
      const server = net.createServer();
      servers.push(server);
      ports.push(await listen(server, 0));
    }
    return ports;
  } finally {
    await Promise.all(servers.map(close));
  }
}

export async function freePort(): Promise<number> {
  const [port] = await freePorts(1);
  return port as number;
}

/**
 * A free port whose successor is free too: OpenBao's dev server takes `port + 1` for its
 * cluster listener without asking.
 */
export async function freeConsecutivePorts(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const first = net.createServer();
    const second = net.createServer();
    try {
      const port = await listen(first, 0);
      if (port >= 65535) continue;
      await listen(second, port + 1);
      return port;
    } catch {
      // the successor is taken; try another pair
    } finally {
      await Promise.all([close(first), close(second)]);
    }
  }
  throw new Error('no two consecutive free loopback ports found after 50 attempts');
}

function listen(server: net.Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port));
  });
}

function close(server: net.Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) resolve();
    else server.close(() => resolve());
  });
}
