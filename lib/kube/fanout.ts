import http from 'node:http';
import https from 'node:https';
import { TimeoutError, TransientError } from '../errors.js';
import type { ClusterClient } from './cluster.js';

/**
 * Any HTTP answer from /version proves the API server is reachable (even 401/403: the
 * credential is then the caller's problem, reported with its own message). Bounded, so an
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
    request.on('timeout', () => request.destroy(new TimeoutError(`no answer within ${timeoutMs} ms`)));
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
