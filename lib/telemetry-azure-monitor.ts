import {
  AggregationTemporality,
  InstrumentType,
  type PushMetricExporter,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';

/**
 * The Azure Monitor exporters, loaded on their first export rather than at start: the SDK
 * and its HTTP pipeline cost a cold instance hundreds of milliseconds before it listens,
 * and the first export happens seconds later, off any event's path.
 */
type Monitor = typeof import('@azure/monitor-opentelemetry-exporter');
type ExportResult = Parameters<Parameters<SpanExporter['export']>[1]>[0];
/** ExportResultCode.FAILED of @opentelemetry/core. */
const FAILED: ExportResult = { code: 1 };

function once<T>(create: () => Promise<T>): () => Promise<T> {
  let made: Promise<T> | undefined;
  return () => {
    made ??= create();
    return made;
  };
}

const monitor = once<Monitor>(() => import('@azure/monitor-opentelemetry-exporter'));

export function azureMonitorSpanExporter(connectionString: string): SpanExporter {
  const exporter = once(async () => new (await monitor()).AzureMonitorTraceExporter({ connectionString }));
  return {
    export(spans: ReadableSpan[], done: (result: ExportResult) => void) {
      exporter().then(
        (e) => e.export(spans, done),
        () => done(FAILED),
      );
    },
    shutdown: async () => (await exporter()).shutdown(),
  };
}

export function azureMonitorMetricExporter(connectionString: string): PushMetricExporter {
  const exporter = once(async () => new (await monitor()).AzureMonitorMetricExporter({ connectionString }));
  return {
    export(metrics: ResourceMetrics, done: (result: ExportResult) => void) {
      exporter().then(
        (e) => e.export(metrics, done),
        () => done(FAILED),
      );
    },
    shutdown: async () => (await exporter()).shutdown(),
    forceFlush: async () => (await exporter()).forceFlush(),
    // The exporter's own choice, answered before it is loaded (it is asked at start).
    selectAggregationTemporality: (type: InstrumentType) =>
      type === InstrumentType.UP_DOWN_COUNTER || type === InstrumentType.OBSERVABLE_UP_DOWN_COUNTER
        ? AggregationTemporality.CUMULATIVE
        : AggregationTemporality.DELTA,
  };
}
