import { createHash, type Hash } from 'node:crypto';
import type https from 'node:https';

/**
 * The agent rotor reuses for a cluster's requests, as long as the TLS material the
 * KubeConfig computes stays the same. Reusing one agent (keep-alive connections, one
 * secure context, resumed sessions) is what makes calls and watches cheap, but the
 * material can change within a process: an exec credential plugin or a kubeconfig's
 * certificate files hand out a renewed client certificate, a CA bundle is rotated. A
 * new fingerprint then builds a new agent, so the next connection presents the new
 * certificate. The old agent is dropped: its open watches and requests end as they would,
 * its idle keep-alive connections when the server closes them. A fingerprint costs a few
 * microseconds per call (a hash of a few kilobytes), against ~0.5 ms of CPU per API call.
 */
export class AgentPerTls {
  private current?: { fingerprint: string; agent: https.Agent };

  constructor(private readonly build: (options: https.AgentOptions) => https.Agent) {}

  for(options: https.AgentOptions): https.Agent {
    const fingerprint = tlsFingerprint(options);
    if (this.current?.fingerprint !== fingerprint) this.current = { fingerprint, agent: this.build(options) };
    return this.current.agent;
  }
}

/**
 * A digest of what decides the TLS identity and trust of a connection: the client
 * certificate and key (PEM, PFX, passphrase), the trusted CAs and how the server is
 * checked. Only compared, never printed: the key material does not leave this function.
 */
export function tlsFingerprint(options: https.AgentOptions): string {
  const hash = createHash('sha256');
  const { ca, cert, key, pfx, passphrase, servername, rejectUnauthorized } = options;
  for (const field of [ca, cert, key, pfx, passphrase, servername, rejectUnauthorized]) feed(hash, field);
  return hash.digest('base64');
}

/** Each part length-prefixed, so two different sequences of parts never hash alike. */
function feed(hash: Hash, value: unknown): void {
  if (value === undefined || value === null) {
    hash.update('u;');
  } else if (typeof value === 'string' || Buffer.isBuffer(value)) {
    const bytes = typeof value === 'string' ? Buffer.from(value) : value;
    hash.update(`b${bytes.length};`).update(bytes);
  } else if (Array.isArray(value)) {
    hash.update(`a${value.length};`);
    for (const item of value) feed(hash, item);
  } else if (typeof value === 'object') {
    // { pem, passphrase } of a key, { buf, passphrase } of a PFX
    const entries = Object.entries(value).sort(([a], [b]) => a.localeCompare(b));
    hash.update(`o${entries.length};`);
    for (const [name, item] of entries) {
      feed(hash, name);
      feed(hash, item);
    }
  } else {
    feed(hash, String(value));
  }
}
