import http from 'node:http';
import https from 'node:https';
import { describeError, isRetryableError, TransientError } from '../errors.js';
import type { ClusterFailure } from '../outcome.js';
import type { ClusterClient, ClusterRegistry } from './cluster.js';

export interface FanoutOptions {
  /** Bound on reaching each API server before `fn` runs (default 5 s). */
  connectTimeoutMs?: number;
}

export interface FanoutResult<T> {
  results: Array<{ cluster: string; value: T }>;
  failures: ClusterFailure[];
}

const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;

/**
 * Any HTTP answer from /version proves the API server is reachable (even 401/403: the
 * credential is then `fn`'s problem, reported with its own message). Bounded, so an
 * address that drops packets costs at most the timeout.
 */
export async function probeCluster(client: ClusterClient, timeoutMs: number): Promise<void> {
  const server = client.kc.getCurrentCluster()?.server;
  if (!server) throw new TransientError(`cluster ${client.name}: the kubeconfig names no server`);
  const options: https.RequestOptions = {};
  await client.kc.applyToHTTPSOptions(options);
  await new Promise<void>((resolve, reject) => {
    const url = new URL('/version', server);
    const request = (url.protocol === 'https:' ? https : http).request(
      url,
      { ...options, method: 'GET', timeout: timeoutMs },
      (res) => {
        res.resume();
        resolve();
      },
    );
    request.on('timeout', () => request.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    request.on('error', (error) =>
      reject(
        new TransientError(`cluster ${client.name} is unreachable at ${server}: ${error.message}`, {
          cause: error,
        }),
      ),
    );
    request.end();
  });
}

/**
 * Runs `fn` against every configured cluster in parallel. A cluster that cannot be
 * reached, or whose `fn` fails, becomes a failure entry; it never delays the others
 * beyond its connect timeout.
 */
export async function forEachCluster<T>(
  registry: ClusterRegistry,
  fn: (client: ClusterClient) => Promise<T>,
  opts: FanoutOptions = {},
): Promise<FanoutResult<T>> {
  const timeout = opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  const settled = await Promise.all(
    registry.names().map(async (cluster) => {
      try {
        const client = await registry.get(cluster);
        await probeCluster(client, timeout);
        return { ok: true as const, cluster, value: await fn(client) };
      } catch (error) {
        return {
          ok: false as const,
          cluster,
          error: describeError(error).message,
          retryable: isRetryableError(error),
        };
      }
    }),
  );
  return {
    results: settled.flatMap((s) => (s.ok ? [{ cluster: s.cluster, value: s.value }] : [])),
    failures: settled.flatMap((s) =>
      s.ok ? [] : [{ cluster: s.cluster, error: s.error, retryable: s.retryable }],
    ),
  };
}
