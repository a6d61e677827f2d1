import { type Attributes, context, type Span, SpanStatusCode, type Tracer, trace } from '@opentelemetry/api';
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  type MetricReader,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import type { CallObserver } from './backends/backend.js';
import type { ChangeEvent } from './change-event.js';
import type { Config } from './config.js';
import type { Outcome, RefreshResult, WorkloadResult } from './outcome.js';
import { azureMonitorMetricExporter, azureMonitorSpanExporter } from './telemetry-azure-monitor.js';

/**
 * Structured JSON logs, OpenTelemetry metrics and one trace per pipeline run.
 * Nothing here ever receives a secret value: callers pass references, names, counts and
 * error messages. Fields whose name suggests a value are dropped as a second line of defence.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const VALUE_LIKE = /^(value|values|password|secret|secretValue|data|stringData|token|privateKey|plaintext)$/i;

function scrub(fields: LogFields): LogFields {
  const out: LogFields = {};
  for (const [k, v] of Object.entries(fields)) out[k] = VALUE_LIKE.test(k) ? '[redacted]' : v;
  return out;
}

export function createLogger(
  level: LogLevel,
  write: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
  base: LogFields = {},
): Logger {
  const emit = (lvl: LogLevel, msg: string, fields?: LogFields) => {
    if (LEVELS[lvl] < LEVELS[level]) return;
    write(
      JSON.stringify({ time: new Date().toISOString(), level: lvl, msg, ...scrub({ ...base, ...fields }) }),
    );
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (fields) => createLogger(level, write, { ...base, ...fields }),
  };
}

export interface TelemetryOptions {
  /** Where log lines go (stdout by default). */
  write?: (line: string) => void;
  /** Keep spans and metrics in memory (tests, `rotor demo` summaries). */
  inMemory?: boolean;
}

export interface Telemetry {
  readonly log: Logger;
  readonly tracer: Tracer;
  eventReceived(source: string, type: string): void;
  eventIgnored(source: string, reason: string): void;
  recordOutcome(outcome: Outcome): void;
  /** Ended rollout follow-ups (rolled-out / rollout-failed / not-followed) and how long they took. */
  recordRollouts(workloads: readonly WorkloadResult[]): void;
  /** Counts and times one backend call (the backends' CallObserver). */
  backendCall: CallObserver;
  /**
   * Runs fn inside a span, child of `parent` when given (explicit, so no global context
   * manager is needed); attributes must be references and counts, never values.
   */
  span<T>(name: string, attributes: Attributes, fn: (span: Span) => Promise<T>, parent?: Span): Promise<T>;
  /** In-memory exports, when created with inMemory. */
  memory?: { spans: InMemorySpanExporter; metrics: InMemoryMetricExporter; reader: MetricReader };
  flush(): Promise<void>;
  shutdown(): Promise<void>;
}

export function createTelemetry(config: Config['telemetry'], options: TelemetryOptions = {}): Telemetry {
  const log = createLogger(config.logLevel, options.write);
  const spanProcessors: SpanProcessor[] = [];
  const readers: MetricReader[] = [];
  let memory: Telemetry['memory'];
  if (config.appInsightsConnectionString) {
    const connectionString = config.appInsightsConnectionString.reveal();
    spanProcessors.push(new BatchSpanProcessor(azureMonitorSpanExporter(connectionString)));
    readers.push(
      new PeriodicExportingMetricReader({
        exporter: azureMonitorMetricExporter(connectionString),
        exportIntervalMillis: 60_000,
      }),
    );
  }
  if (options.inMemory) {
    const spans = new InMemorySpanExporter();
    const metrics = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
    const reader = new PeriodicExportingMetricReader({ exporter: metrics, exportIntervalMillis: 3_600_000 });
    spanProcessors.push(new SimpleSpanProcessor(spans));
    readers.push(reader);
    memory = { spans, metrics, reader };
  }
  const tracerProvider = new BasicTracerProvider({ spanProcessors });
  const meterProvider = new MeterProvider({ readers });
  const tracer = tracerProvider.getTracer('rotor');
  const meter = meterProvider.getMeter('rotor');

  const events = meter.createCounter('rotor.events', { description: 'Events received, by source and type' });
  const ignored = meter.createCounter('rotor.events.ignored', {
    description: 'Events acknowledged and ignored',
  });
  const rotations = meter.createCounter('rotor.rotations', { description: 'Rotations, by result' });
  const refreshes = meter.createCounter('rotor.refreshes', {
    description: 'Forced refreshes, by operator and result (and code, when failed)',
  });
  const restarts = meter.createCounter('rotor.restarts', {
    description: 'Workload results, by kind and result (and code, when failed)',
  });
  const clusterFailures = meter.createCounter('rotor.cluster.failures', {
    description: 'Clusters whose part of a run failed as a whole, by code and retryable',
  });
  const rollouts = meter.createCounter('rotor.rollouts', {
    description: 'Followed restarts, by kind and how they ended',
  });
  const rolloutTime = meter.createHistogram('rotor.rollout.duration', {
    description: 'Restart write to the new template fully available (or the failure)',
    unit: 'ms',
    advice: {
      explicitBucketBoundaries: [100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000],
    },
  });
  const recordRollouts = (workloads: readonly WorkloadResult[]) => {
    for (const w of workloads) {
      if (w.status !== 'restarted' || !w.rollout || w.rollout.status === 'following') continue;
      rollouts.add(1, { kind: w.kind, result: w.rollout.status });
      if ('ms' in w.rollout) rolloutTime.record(w.rollout.ms, { kind: w.kind, result: w.rollout.status });
    }
  };
  const latency = meter.createHistogram('rotor.pipeline.latency', {
    description: 'Event received to last workload patched',
    unit: 'ms',
    advice: { explicitBucketBoundaries: [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000] },
  });

  const backendCalls = meter.createCounter('rotor.backend.calls', {
    description: 'Key Vault / Vault calls, by backend, operation and outcome',
  });
  const backendDuration = meter.createHistogram('rotor.backend.duration', {
    description: 'Key Vault / Vault call duration, by backend, operation and outcome',
    unit: 'ms',
    advice: { explicitBucketBoundaries: [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000] },
  });

  return {
    log,
    tracer,
    memory,
    backendCall(call) {
      const attributes = {
        backend: call.backend,
        operation: call.operation,
        outcome: call.ok ? 'ok' : (call.errorCode ?? 'error'),
      };
      backendCalls.add(1, attributes);
      backendDuration.record(call.ms, attributes);
    },
    eventReceived: (source, type) => events.add(1, { source, type }),
    eventIgnored: (source, reason) => ignored.add(1, { source, reason }),
    recordOutcome(outcome) {
      if (outcome.rotation) rotations.add(1, { result: rotationResult(outcome.rotation) });
      for (const r of outcome.refreshes)
        refreshes.add(1, { operator: r.operator, result: r.status, ...codeOf(r) });
      for (const w of outcome.workloads) restarts.add(1, { kind: w.kind, result: w.status, ...codeOf(w) });
      for (const c of outcome.clusterFailures)
        clusterFailures.add(1, { code: c.error.code, retryable: c.error.retryable });
      const done = outcome.timeline.find((t) => t.step === 'done');
      if (done) latency.record(done.atMs, { source: outcome.source, status: outcome.status });
      recordRollouts(outcome.workloads);
    },
    recordRollouts,
    span: (name, attributes, fn, parent) =>
      tracer.startActiveSpan(
        name,
        { attributes },
        parent ? trace.setSpan(context.active(), parent) : context.active(),
        async (span) => {
          try {
            return await fn(span);
          } catch (error) {
            span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
            throw error;
          } finally {
            span.end();
          }
        },
      ),
    async flush() {
      await Promise.all([tracerProvider.forceFlush(), meterProvider.forceFlush()]);
    },
    async shutdown() {
      await Promise.all([tracerProvider.shutdown(), meterProvider.shutdown()]);
    },
  };
}

/** A failed result's code as a metric attribute, so dashboards split failures by cause. */
function codeOf(result: RefreshResult | WorkloadResult): Attributes {
  return result.status === 'failed' ? { code: result.error.code } : {};
}

/** Span attributes describing an event: references only. */
export function eventAttributes(event: ChangeEvent, ref: string): Attributes {
  return {
    'rotor.event.id': event.id,
    'rotor.event.source': event.source,
    'rotor.event.kind': event.kind,
    'rotor.ref': ref,
  };
}

/** rotated, skipped, or finishing (a retry rolling out the last rotation's version, no new one). */
function rotationResult(rotation: NonNullable<Outcome['rotation']>): string {
  if ('newVersion' in rotation) return 'rotated';
  return 'finishing' in rotation ? 'finishing' : 'skipped';
}
