import type https from 'node:https';

/**
 * The agent rotor reuses for a cluster's requests, as long as the TLS material the
 * KubeConfig computes stays the same. Reusing one agent (keep-alive connections, one
 * secure context, resumed sessions) is what makes calls and watches cheap, but the
 * material can change within a process: an exec credential plugin or a kubeconfig's
 * certificate files hand out a renewed client certificate, a CA bundle is rotated. New
 * material then builds a new agent, so the next connection presents the new certificate.
 * The old agent is dropped: its open watches and requests end as they would, its idle
 * keep-alive connections when the server closes them. The material is compared byte for
 * byte (a memcmp of a few kilobytes per call): a SHA-256 of it cost ~30 us per API call
 * in the e2e bench's profile, more than the rest of the agent's choice.
 */
export class AgentPerTls {
  private current?: { material: unknown[]; agent: https.Agent };

  constructor(private readonly build: (options: https.AgentOptions) => https.Agent) {}

  for(options: https.AgentOptions): https.Agent {
    const material = tlsMaterial(options);
    if (!this.current || !same(this.current.material, material))
      this.current = { material, agent: this.build(options) };
    return this.current.agent;
  }
}

/**
 * What decides the TLS identity and trust of a connection: the client certificate and key
 * (PEM, PFX, passphrase), the trusted CAs and how the server is checked.
 */
function tlsMaterial(options: https.AgentOptions): unknown[] {
  const { ca, cert, key, pfx, passphrase, servername, rejectUnauthorized } = options;
  return [ca, cert, key, pfx, passphrase, servername, rejectUnauthorized];
}

/** Same TLS material, however it is spelt (a PEM as a string or as the Buffer of its bytes). */
export function sameTlsMaterial(a: https.AgentOptions, b: https.AgentOptions): boolean {
  return same(tlsMaterial(a), tlsMaterial(b));
}

function same(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if ((typeof a === 'string' || Buffer.isBuffer(a)) && (typeof b === 'string' || Buffer.isBuffer(b)))
    return bytes(a).equals(bytes(b));
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => same(x, b[i]));
  if (a && b && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b)) {
    // { pem, passphrase } of a key, { buf, passphrase } of a PFX
    const keys = Object.keys(a);
    return (
      keys.length === Object.keys(b).length &&
      keys.every((k) => same((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]))
    );
  }
  return false;
}

function bytes(v: string | Buffer): Buffer {
  return typeof v === 'string' ? Buffer.from(v) : v;
}
