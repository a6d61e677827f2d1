import { describe, expect, it, vi } from 'vitest';
import { parseConfig } from '../../../lib/config.js';
import { ConfigError } from '../../../lib/errors.js';
import { AKS_TOKEN_SCOPE, ClusterRegistry, type TokenSource } from '../../../lib/kube/cluster.js';

/** Stand-in for Entra ID (cannot run here): hands out numbered tokens with a chosen lifetime. */
function entraStandIn(lifetimeMs: number) {
  const scopes: string[] = [];
  let n = 0;
  const source: TokenSource = {
    async getToken(scope) {
      scopes.push(scope);
      n += 1;
      return { token: `token-${n}`, expiresOnTimestamp: Date.now() + lifetimeMs };
    },
  };
  return { source, scopes };
}

const aks = parseConfig({
  clusters: [{ name: 'aks-weu', aks: { server: 'https://aks-weu.hcp.westeurope.azmk8s.io:443' } }],
}).clusters;

describe('cluster registry', () => {
  it('asks Entra ID for the AKS scope and sends the token as the bearer credential', async () => {
    const entra = entraStandIn(3_600_000);
    const registry = new ClusterRegistry(aks, entra.source);

    const client = await registry.get('aks-weu');

    expect(entra.scopes).toEqual([AKS_TOKEN_SCOPE]);
    expect(client.kc.getCurrentUser()?.token).toBe('token-1');
    expect(client.kc.getCurrentCluster()?.server).toBe('https://aks-weu.hcp.westeurope.azmk8s.io:443');
  });

  it('keeps one client and renews its token in place shortly before expiry', async () => {
    const fresh = entraStandIn(3_600_000);
    const fresher = new ClusterRegistry(aks, fresh.source);
    await fresher.get('aks-weu');
    await fresher.get('aks-weu');
    const expiring = entraStandIn(60_000);
    const renewing = new ClusterRegistry(aks, expiring.source);
    const first = await renewing.get('aks-weu');
    const second = await renewing.get('aks-weu');

    expect(fresh.scopes).toHaveLength(1);
    // The same client: caches, watches and restart engines bound to it see the new token.
    expect(second).toBe(first);
    expect(second.kc.getCurrentUser()?.token).toBe('token-2');
  });

  it('renews the token of a client nobody asks the registry for again (long-lived watches)', async () => {
    vi.useFakeTimers();
    try {
      const entra = entraStandIn(60 * 60_000);
      const client = await new ClusterRegistry(aks, entra.source).get('aks-weu');
      await vi.advanceTimersByTimeAsync(54 * 60_000);
      const before = client.kc.getCurrentUser()?.token;
      await vi.advanceTimersByTimeAsync(2 * 60_000);

      expect([before, client.kc.getCurrentUser()?.token]).toEqual(['token-1', 'token-2']);
    } finally {
      vi.useRealTimers();
    }
  });

  it('builds one client when several callers ask at once', async () => {
    const entra = entraStandIn(3_600_000);
    const registry = new ClusterRegistry(aks, entra.source);

    const [a, b] = await Promise.all([registry.get('aks-weu'), registry.get('aks-weu')]);

    expect(a).toBe(b);
    expect(entra.scopes).toHaveLength(1);
  });

  it('an unknown cluster or a missing credential is a configuration error', async () => {
    await expect(new ClusterRegistry(aks).get('aks-weu')).rejects.toThrow(ConfigError);
    await expect(new ClusterRegistry(aks, entraStandIn(1).source).get('other')).rejects.toThrow(
      /not configured/,
    );
  });

  it('picks the named context of a kubeconfig and refuses a context that is not there', async () => {
    const kubeconfigYaml = [
      'apiVersion: v1',
      'clusters: [{name: a, cluster: {server: "https://a:6443"}}, {name: b, cluster: {server: "https://b:6443"}}]',
      'users: [{name: u, user: {token: t}}]',
      'contexts: [{name: ctx-a, context: {cluster: a, user: u}}, {name: ctx-b, context: {cluster: b, user: u}}]',
      'current-context: ctx-a',
    ].join('\n');
    const clusters = parseConfig({
      clusters: [
        { name: 'b', kubeconfigYaml, context: 'ctx-b' },
        { name: 'x', kubeconfigYaml, context: 'missing' },
      ],
    }).clusters;
    const registry = new ClusterRegistry(clusters);

    expect((await registry.get('b')).kc.getCurrentCluster()?.server).toBe('https://b:6443');
    await expect(registry.get('x')).rejects.toThrow(/context "missing" is not in the kubeconfig/);
  });
});

/** A loopback "API server" answering with `handler`, and a kubeconfig pointing at it. */
async function loopbackServer(handler: import('node:http').RequestListener) {
  const { createServer } = await import('node:http');
  const { KubeConfig } = await import('@kubernetes/client-node');
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const kc = new KubeConfig();
  kc.loadFromOptions({
    // Plain http needs skipTLSVerify in client-node; nothing secret crosses this loopback test.
    clusters: [{ name: 'c', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
    users: [{ name: 'u', token: 't' }],
    contexts: [{ name: 'c', cluster: 'c', user: 'u' }],
    currentContext: 'c',
  });
  return { kc, close: () => server.close() };
}

describe('API calls through a cluster client', () => {
  it('send a body with its length, DELETE included (DeleteOptions: propagation, preconditions)', async () => {
    const { clusterClientFromKubeConfig } = await import('../../../lib/kube/cluster.js');
    const received: Array<{ method?: string; length?: string; body: string }> = [];
    const api = await loopbackServer((req, res) => {
      let body = '';
      req.on('data', (chunk) => {
        body += chunk;
      });
      req.on('end', () => {
        received.push({ method: req.method, length: req.headers['content-length'], body });
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"kind":"Status","status":"Success"}');
      });
    });
    try {
      await clusterClientFromKubeConfig('c', api.kc).batch.deleteNamespacedJob({
        namespace: 'n',
        name: 'j',
        body: { propagationPolicy: 'Background' },
      });

      expect(received).toEqual([
        { method: 'DELETE', length: '34', body: '{"propagationPolicy":"Background"}' },
      ]);
    } finally {
      api.close();
    }
  });

  it('retry what the API server asks to retry (429 storage is initializing, 503) and then answer', async () => {
    const { clusterClientFromKubeConfig } = await import('../../../lib/kube/cluster.js');
    const answers = [429, 503, 200];
    const seen: number[] = [];
    const api = await loopbackServer((_req, res) => {
      const status = answers.shift() ?? 200;
      seen.push(status);
      res.writeHead(status, {
        'content-type': 'application/json',
        ...(status === 429 ? { 'retry-after': '0' } : {}),
      });
      res.end(
        status === 200
          ? JSON.stringify({ kind: 'Secret', metadata: { name: 'db' } })
          : '{"message":"storage is (re)initializing"}',
      );
    });
    const kc = api.kc;
    try {
      const secret = await clusterClientFromKubeConfig('c', kc).core.readNamespacedSecret({
        namespace: 'n',
        name: 'db',
      });

      expect(secret.metadata?.name).toBe('db');
      expect(seen).toEqual([429, 503, 200]);
    } finally {
      api.close();
    }
  });
});
