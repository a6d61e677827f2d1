import https from 'node:https';
import tls from 'node:tls';
import { type KubeConfig, Watch } from '@kubernetes/client-node';
import { AgentPerTls } from './tls-agent.js';

export type WatchPhase = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

export interface WatchParams {
  /** Start after this version (an empty string lets the server choose: a fresh list's). */
  resourceVersion?: string;
  fieldSelector?: string;
  allowWatchBookmarks?: boolean;
}

export interface WatchRequest {
  kc: KubeConfig;
  /** Collection path, e.g. /apis/external-secrets.io/v1/namespaces/ns/externalsecrets */
  path: string;
  params: WatchParams;
  /** Each event; for ERROR the object is a Status (statusOf reads its code, 410 = history compacted). */
  // biome-ignore lint/suspicious/noExplicitAny: the object is raw JSON of the watched kind; callers narrow it.
  onEvent(phase: WatchPhase, obj: any): void;
  /**
   * The stream ended: `error` is null for a server-side close, else the failure (its
   * `statusCode` the HTTP status of a refused watch, e.g. 403 or 410). Not called after stop().
   */
  onDone(error: unknown): void;
}

export interface WatchHandle {
  /** Ends the request; no callback runs afterwards. */
  stop(): void;
}

/**
 * One watch request. Every follower in rotor (the consumer index, a forced object's
 * refresh, an object's Warning Events) goes through here, so stopping is the same
 * everywhere: a stop before the request is open still closes it, and nothing is delivered
 * after stop. Resuming is the caller's choice (from which version, after what delay).
 */
export function startWatch(request: WatchRequest): WatchHandle {
  let stopped = false;
  let controller: AbortController | undefined;
  const ended = (error: unknown): void => {
    if (!stopped) request.onDone(error ?? null);
  };
  new Watch(sharingTls(request.kc))
    .watch(
      request.path,
      { ...request.params },
      (phase, obj) => {
        if (!stopped) request.onEvent(phase as WatchPhase, obj);
      },
      ended,
    )
    .then((c) => {
      if (stopped) c.abort();
      else controller = c;
    })
    .catch(ended);
  return {
    stop() {
      stopped = true;
      controller?.abort();
    },
  };
}

const sharing = new WeakMap<KubeConfig, KubeConfig>();

/**
 * The KubeConfig as a Watch sees it, except that every watch of the cluster goes through one
 * HTTPS agent with one TLS context: client-node builds a new agent per watch, i.e. per
 * connection a new secure context (its CA certificates parsed again) and a full handshake
 * with the server certificate checked again. A refresh opens two watches, so in a burst this
 * was most of rotor's TLS work (bench/analysis.md); the shared agent's session cache resumes
 * the TLS session instead. Headers (a renewed token) still come fresh for each watch, and a
 * renewed client certificate gets an agent of its own (tls-agent.ts).
 */
function sharingTls(kc: KubeConfig): KubeConfig {
  let view = sharing.get(kc);
  if (!view) {
    const agents = new AgentPerTls(sharedAgent);
    const wrapped: KubeConfig = Object.create(kc);
    wrapped.applyToFetchOptions = async (opts) => {
      const fresh = await kc.applyToFetchOptions(opts);
      if (!(fresh.agent instanceof https.Agent)) return fresh; // proxies and plain http keep theirs
      return { ...fresh, agent: agents.for(fresh.agent.options) };
    };
    view = wrapped;
    sharing.set(kc, view);
  }
  return view;
}

function sharedAgent(options: https.AgentOptions): https.Agent {
  const { ca, cert, key, pfx, passphrase } = options;
  return new https.Agent({
    ...options,
    secureContext: tls.createSecureContext({ ca, cert, key, pfx, passphrase }),
  });
}
