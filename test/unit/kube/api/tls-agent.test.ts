import { X509Certificate } from 'node:crypto';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sameTlsMaterial } from '../../../../lib/kube/api/tls-agent.js';
import { startWatch } from '../../../../lib/kube/api/watch.js';
import { clusterClientFromKubeConfig } from '../../../../lib/kube/cluster.js';
import { issueServerTls, type ServerTls } from '../../../env/test-ca.js';

/**
 * A client certificate renewed within the process (an exec credential plugin, a rewritten
 * certificate file) reaches the next API call and the next watch: an HTTPS server that asks
 * for client certificates records which one each request came with.
 */
let server: https.Server;
let serverTls: ServerTls;
let first: ServerTls;
let renewed: ServerTls;
/** The client certificate each request presented, by path. */
const seen: Array<{ path: string; cert: string | undefined; port: number | undefined; resumed: boolean }> =
  [];

const b64 = (pem: string) => Buffer.from(pem).toString('base64');
const fingerprintOf = (tls: ServerTls) => new X509Certificate(tls.certPem).fingerprint256;

beforeAll(async () => {
  [serverTls, first, renewed] = await Promise.all([
    issueServerTls({ ips: ['127.0.0.1'], dns: [] }, 'api server'),
    issueServerTls({ ips: [], dns: ['rotor'] }, 'client certificate'),
    issueServerTls({ ips: [], dns: ['rotor'] }, 'renewed client certificate'),
  ]);
  // The certificates are checked by the test, not the handshake: any one is let in.
  server = https.createServer(
    { cert: serverTls.certPem, key: serverTls.keyPem, requestCert: true, rejectUnauthorized: false },
    (req, res) => {
      const socket = req.socket as TLSSocket;
      seen.push({
        path: req.url ?? '',
        cert: socket.getPeerCertificate()?.fingerprint256,
        port: socket.remotePort,
        resumed: socket.isSessionReused(),
      });
      res.setHeader('content-type', 'application/json');
      if (req.url?.includes('watch=true')) {
        res.end(`${JSON.stringify({ type: 'ADDED', object: { metadata: { name: 'a' } } })}\n`);
      } else {
        res.end(JSON.stringify({ kind: 'Namespace', apiVersion: 'v1', metadata: { name: 'a' } }));
      }
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
});

afterAll(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
});

function presenting(kc: KubeConfig, client: ServerTls): KubeConfig {
  const port = (server.address() as AddressInfo).port;
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: `https://127.0.0.1:${port}`, caData: b64(serverTls.caPem) }],
    users: [{ name: 'rotor', certData: b64(client.certPem), keyData: b64(client.keyPem) }],
    contexts: [{ name: 'c', cluster: 'c', user: 'rotor' }],
    currentContext: 'c',
  });
  return kc;
}

function watchOnce(kc: KubeConfig): Promise<void> {
  return new Promise((resolve, reject) => {
    startWatch({
      kc,
      path: '/api/v1/namespaces',
      params: {},
      onEvent: () => undefined,
      onDone: (error) => (error ? reject(error) : resolve()),
    });
  });
}

const requestsTo = (path: string) => seen.filter((s) => s.path.startsWith(path));
const certsFor = (path: string) => requestsTo(path).map((s) => s.cert);

describe('a renewed client certificate', () => {
  it('reaches the next API call; calls with an unchanged certificate keep their connection', async () => {
    const kc = presenting(new KubeConfig(), first);
    const client = clusterClientFromKubeConfig('c', kc);
    await client.core.readNamespace({ name: 'a' });
    await client.core.readNamespace({ name: 'a' });
    presenting(kc, renewed);
    await client.core.readNamespace({ name: 'a' });
    await client.core.readNamespace({ name: 'a' });

    expect(certsFor('/api/v1/namespaces/a')).toEqual([
      fingerprintOf(first),
      fingerprintOf(first),
      fingerprintOf(renewed),
      fingerprintOf(renewed),
    ]);
    const ports = requestsTo('/api/v1/namespaces/a').map((s) => s.port);
    expect(ports[1]).toBe(ports[0]);
    expect(ports[3]).toBe(ports[2]);
    expect(ports[2]).not.toBe(ports[1]);
  });

  it('reaches the next watch', async () => {
    const kc = presenting(new KubeConfig(), first);
    await watchOnce(kc);
    await watchOnce(kc);
    presenting(kc, renewed);
    await watchOnce(kc);

    expect(certsFor('/api/v1/namespaces?')).toEqual([
      fingerprintOf(first),
      fingerprintOf(first),
      fingerprintOf(renewed),
    ]);
    // The second watch resumed the first one's TLS session (one agent); the renewed one did not.
    expect(requestsTo('/api/v1/namespaces?').map((s) => s.resumed)).toEqual([false, true, false]);
  });
});

describe('sameTlsMaterial', () => {
  it('differs with any of certificate, key, CAs, passphrase, server name, verification; same for the same bytes', () => {
    const base = { ca: [serverTls.caPem], cert: first.certPem, key: first.keyPem };
    const same = { ca: [Buffer.from(serverTls.caPem)], cert: Buffer.from(first.certPem), key: first.keyPem };

    expect(sameTlsMaterial(same, base)).toBe(true);
    expect(
      sameTlsMaterial({ ...base, key: [{ pem: first.keyPem }] }, { ...base, key: [{ pem: first.keyPem }] }),
    ).toBe(true);
    const variants = [
      { ...base, cert: renewed.certPem },
      { ...base, key: renewed.keyPem },
      { ...base, ca: [serverTls.caPem, first.caPem] },
      { ...base, ca: [first.caPem] },
      { ...base, passphrase: 'p' },
      { ...base, servername: 'api' },
      { ...base, rejectUnauthorized: false },
      { ...base, key: [{ pem: first.keyPem, passphrase: 'p' }] },
    ];
    for (const v of variants) expect(sameTlsMaterial(v, base)).toBe(false);
  });
});
