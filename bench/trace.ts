/**
 * Request spans for the bench's attribution (ROTOR_BENCH_TRACE=1): every HTTP request this
 * process makes (rotor's Kubernetes and state-store calls, the stand-ins', the bench's own)
 * with its start and end on the bench's monotonic clock, from Node's http diagnostics
 * channels. Nothing in rotor is changed to be traced.
 */
import { subscribe } from 'node:diagnostics_channel';
import type { ClientRequest, IncomingMessage } from 'node:http';

export interface Span {
  start: number;
  end?: number;
  method: string;
  host: string;
  path: string;
  status?: number;
  /** Last characters of the bearer token or client identity, to tell rotor's calls from the stand-ins'. */
  who: string;
}

export class RequestTrace {
  readonly spans: Span[] = [];
  private readonly open = new WeakMap<ClientRequest, Span>();
  private on = false;

  constructor() {
    subscribe('http.client.request.start', (message) => {
      if (!this.on) return;
      const { request } = message as { request: ClientRequest };
      const auth = String(request.getHeader('authorization') ?? '');
      const span: Span = {
        start: performance.now(),
        method: request.method,
        host: String(request.getHeader('host') ?? request.host),
        path: request.path,
        // SharedKey signatures differ per request: the state store is one sender.
        who: auth.startsWith('SharedKey')
          ? 'state store'
          : auth
            ? auth.slice(-4)
            : String(request.getHeader('user-agent') ?? '').slice(0, 12),
      };
      this.open.set(request, span);
      this.spans.push(span);
    });
    subscribe('http.server.request.start', (message) => {
      if (!this.on) return;
      const { request, response } = message as { request: IncomingMessage; response: NodeJS.EventEmitter };
      const span: Span = {
        start: performance.now(),
        method: request.method ?? '',
        host: `server ${request.headers.host ?? ''}`,
        path: request.url ?? '',
        who: 'SERVER',
      };
      this.spans.push(span);
      response.once('finish', () => {
        span.end = performance.now();
      });
    });
    subscribe('http.client.response.finish', (message) => {
      const { request, response } = message as { request: ClientRequest; response: IncomingMessage };
      const span = this.open.get(request);
      if (!span) return;
      span.end = performance.now();
      span.status = response.statusCode ?? 0;
    });
  }

  start(): void {
    this.spans.length = 0;
    this.on = true;
  }

  stop(): Span[] {
    this.on = false;
    return [...this.spans];
  }

  /** One line per request, times relative to `t0`. */
  static format(spans: readonly Span[], t0: number): string {
    return spans
      .map((s) => {
        const from = (s.start - t0).toFixed(1).padStart(7);
        const to = s.end === undefined ? '   open' : (s.end - t0).toFixed(1).padStart(7);
        const path = s.path.replace(/\?.*$/, (q) => (q.length > 60 ? `${q.slice(0, 60)}…` : q));
        return `${from} → ${to} ms  ${s.status ?? '   '} ${s.who.padEnd(12)} ${s.method.padEnd(6)} ${path}`;
      })
      .join('\n');
  }
}
