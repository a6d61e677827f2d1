import { describe, expect, it } from 'vitest';
import type { Outcome } from '../../lib/outcome.js';
import { createLogger, createTelemetry } from '../../lib/telemetry.js';

describe('telemetry', () => {
  it('logs are one JSON object per line, filtered by level, with child fields', () => {
    const lines: string[] = [];
    const log = createLogger('info', (l) => lines.push(l)).child({ cluster: 'aks' });

    log.debug('hidden');
    log.info('patched', { workload: 'web' });

    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({
      level: 'info',
      msg: 'patched',
      cluster: 'aks',
      workload: 'web',
    });
  });

  it('fields named like secret material are redacted even if a caller passes them', () => {
    const lines: string[] = [];
    createLogger('info', (l) => lines.push(l)).info('oops', {
      password: 'hunter2',
      value: 'v',
      token: 't',
      ref: 'kv/db',
    });

    expect(lines[0]).not.toMatch(/hunter2|"v"|"t"/);
    expect(JSON.parse(lines[0]!)).toMatchObject({ password: '[redacted]', ref: 'kv/db' });
  });

  it('an outcome is counted as events, restarts by result and an end-to-end latency', async () => {
    const t = createTelemetry({ logLevel: 'error' }, { inMemory: true, write: () => undefined });
    const outcome: Outcome = {
      eventId: 'e',
      ref: 'r',
      kind: 'changed',
      source: 'eventgrid',
      status: 'completed',
      refreshes: [],
      workloads: [
        { status: 'restarted', cluster: 'c', kind: 'Deployment', namespace: 'n', name: 'w', hashes: [] },
      ],
      clusterFailures: [],
      timeline: [{ step: 'done', atMs: 42 }],
      dryRun: false,
    };

    t.eventReceived('eventgrid', 'changed');
    t.recordOutcome(outcome);
    await t.span('rotor.pipeline', { 'rotor.ref': 'r' }, async () => undefined);
    await t.memory!.reader.forceFlush();

    const metrics = t.memory!.metrics.getMetrics().flatMap((r) => r.scopeMetrics.flatMap((s) => s.metrics));
    const names = metrics.map((m) => m.descriptor.name);
    expect(names).toEqual(
      expect.arrayContaining(['rotor.events', 'rotor.restarts', 'rotor.pipeline.latency']),
    );
    expect(t.memory!.spans.getFinishedSpans().map((s) => s.name)).toEqual(['rotor.pipeline']);
    await t.shutdown();
  });

  it('counts and times every backend call by backend, operation and outcome', async () => {
    const t = createTelemetry({ logLevel: 'error' }, { inMemory: true, write: () => undefined });

    t.backendCall({ backend: 'vault', store: 'bao', operation: 'read', ms: 12, ok: true });
    t.backendCall({
      backend: 'vault',
      store: 'bao',
      operation: 'write',
      ms: 30,
      ok: false,
      errorCode: 'conflict',
    });
    await t.memory!.reader.forceFlush();

    const metrics = t.memory!.metrics.getMetrics().flatMap((r) => r.scopeMetrics.flatMap((s) => s.metrics));
    const calls = metrics.find((m) => m.descriptor.name === 'rotor.backend.calls');
    const duration = metrics.find((m) => m.descriptor.name === 'rotor.backend.duration');
    expect(calls?.dataPoints.map((p) => [p.attributes, p.value])).toEqual([
      [{ backend: 'vault', operation: 'read', outcome: 'ok' }, 1],
      [{ backend: 'vault', operation: 'write', outcome: 'conflict' }, 1],
    ]);
    expect(duration?.dataPoints).toHaveLength(2);
    await t.shutdown();
  });

  it('failures are counted by their code: restarts, refreshes and whole clusters', async () => {
    const t = createTelemetry({ logLevel: 'error' }, { inMemory: true, write: () => undefined });
    const forbidden = { code: 'forbidden', message: 'forbidden: patch deployments', retryable: false };
    t.recordOutcome({
      eventId: 'e',
      ref: 'r',
      kind: 'changed',
      source: 'eventgrid',
      status: 'failed',
      refreshes: [
        {
          status: 'failed',
          cluster: 'c',
          operator: 'vso',
          kind: 'VaultStaticSecret',
          namespace: 'n',
          name: 's',
          error: { code: 'sync_failed', message: 'VaultClientError', retryable: false },
        },
      ],
      workloads: [
        { status: 'failed', cluster: 'c', kind: 'Deployment', namespace: 'n', name: 'w', error: forbidden },
      ],
      clusterFailures: [{ cluster: 'd', error: { code: 'timeout', message: 'late', retryable: true } }],
      timeline: [],
      dryRun: false,
    });
    await t.memory!.reader.forceFlush();

    const metrics = t.memory!.metrics.getMetrics().flatMap((r) => r.scopeMetrics.flatMap((s) => s.metrics));
    const points = (name: string) =>
      metrics.find((m) => m.descriptor.name === name)?.dataPoints.map((p) => [p.attributes, p.value]);
    expect(points('rotor.restarts')).toEqual([
      [{ kind: 'Deployment', result: 'failed', code: 'forbidden' }, 1],
    ]);
    expect(points('rotor.refreshes')).toEqual([
      [{ operator: 'vso', result: 'failed', code: 'sync_failed' }, 1],
    ]);
    expect(points('rotor.cluster.failures')).toEqual([[{ code: 'timeout', retryable: true }, 1]]);
    await t.shutdown();
  });
});
