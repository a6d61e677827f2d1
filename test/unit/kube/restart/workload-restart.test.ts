import { ApiException } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { Failure } from '../../../../lib/errors.js';
import type { KubeObject } from '../../../../lib/kube/api/objects.js';
import type { ClusterClient } from '../../../../lib/kube/cluster.js';
import { ConsumerIndex } from '../../../../lib/kube/restart/consumer-index.js';
import { ScopeFilter } from '../../../../lib/kube/restart/filters.js';
import { deploymentKind } from '../../../../lib/kube/restart/kinds/deployment.js';
import { PauseResumer } from '../../../../lib/kube/restart/pause.js';
import { ResourceReader } from '../../../../lib/kube/restart/resource-reader.js';
import { strategyFor } from '../../../../lib/kube/restart/strategies/index.js';
import { WorkloadRestart } from '../../../../lib/kube/restart/workload-restart.js';
import type { WorkloadResult } from '../../../../lib/outcome.js';
import { Runner } from '../../../../lib/run.js';
import { MemoryIdempotencyStore } from '../../../../lib/state/memory-idempotency.js';
import { createTelemetry } from '../../../../lib/telemetry.js';
import { testConfig } from '../../events/support.js';
import { changeEvent, ES, fakePorts, ManualClock, runnerTestSettings } from '../../support/fake-ports.js';

/**
 * A restart's failure, from the API server's answer to the run's decision: the real
 * WorkloadRestart (read the Secret, read the Deployment, decide, patch guarded by its
 * resourceVersion, re-read on 409) over a client whose PATCH fails, and the Runner that
 * records the run as done or asks the sender to deliver the event again.
 */

const status = (code: number, reason: string, message: string) =>
  new ApiException(code, reason, JSON.stringify({ kind: 'Status', code, reason, message }), {});

const DEPLOYMENT = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: {
    name: 'api',
    namespace: 'app',
    resourceVersion: '7',
    annotations: { 'reloader.stakater.com/auto': 'true' },
  },
  spec: {
    template: {
      spec: {
        containers: [{ name: 'api', envFrom: [{ secretRef: { name: 'db-secret' } }] }],
      },
    },
  },
};

/** A cluster whose Secret and Deployment read fine and whose every Deployment PATCH throws `patchFails()`. */
function clusterPatchFailing(
  patchFails: (body: KubeObject, index: ConsumerIndex) => unknown,
  deployment: typeof DEPLOYMENT = DEPLOYMENT,
) {
  const calls = { reads: 0, patches: 0, versions: [] as Array<string | undefined> };
  const client = {
    name: 'alpha',
    core: {
      readNamespacedSecret: async () => ({
        metadata: { name: 'db-secret', namespace: 'app' },
        data: { password: Buffer.from('v2').toString('base64') },
      }),
    },
    apps: {
      readNamespacedDeployment: async () => {
        calls.reads++;
        return structuredClone(deployment);
      },
      patchNamespacedDeployment: async ({ body }: { body: KubeObject }) => {
        calls.patches++;
        calls.versions.push(body.metadata?.resourceVersion);
        const failure = patchFails(body, index);
        if (failure) throw failure;
        return { ...structuredClone(deployment), metadata: { ...deployment.metadata, generation: 2 } };
      },
    },
  } as unknown as ClusterClient;
  const clock = new ManualClock();
  const options = testConfig().restart;
  const log = () => undefined;
  const index = new ConsumerIndex(client, [deploymentKind], log);
  const workloads = new WorkloadRestart({
    client,
    options,
    kinds: [deploymentKind],
    index,
    reader: new ResourceReader(client),
    scope: new ScopeFilter(client, options),
    strategy: strategyFor(options.strategy, clock),
    clock,
    log,
    pauses: new PauseResumer(client, clock, undefined, log),
  });
  const restart = () =>
    workloads.restart(
      { kind: 'Deployment', namespace: 'app', name: 'api' },
      [
        {
          ref: { kind: 'Deployment', namespace: 'app', name: 'api' },
          change: { cluster: 'alpha', kind: 'Secret', namespace: 'app', name: 'db-secret' },
          arrivedAt: 0,
        },
      ],
      false,
    );
  return { restart, calls };
}

/** A Runner whose cluster `alpha` refreshes ES and restarts through `restart`. */
function runnerRestartingWith(restart: () => Promise<WorkloadResult | undefined>) {
  const { ports, calls } = fakePorts({ alpha: { derived: [ES] } });
  ports.restart = async () => {
    const result = await restart();
    return result ? [result] : [];
  };
  const outcomes: WorkloadResult[][] = [];
  const runner = new Runner({
    ports,
    idempotency: new MemoryIdempotencyStore(),
    clock: new ManualClock(),
    telemetry: createTelemetry(testConfig().telemetry, { write: () => undefined }),
    notify: async () => undefined,
    onOutcome: (o) => outcomes.push(o.workloads),
    settings: runnerTestSettings(),
  });
  const run = (id: string) => runner.process(changeEvent({ id }));
  return { run, calls, outcomes };
}

function failureOf(result: WorkloadResult | undefined): Failure | undefined {
  return result?.status === 'failed' ? result.error : undefined;
}

describe('WorkloadRestart: a failed restart carries the typed failure of its cause', () => {
  it('a PATCH the API server forbids: forbidden, not retryable, naming the verb to grant', async () => {
    const { restart } = clusterPatchFailing(() =>
      status(403, 'Forbidden', 'deployments.apps "api" is forbidden: User "rotor" cannot patch'),
    );
    const failure = failureOf(await restart());
    expect(failure).toMatchObject({ code: 'forbidden', retryable: false });
    expect(failure?.message).toMatch(/restart Deployment app\/api: .*cannot patch.*rbac\.yaml/);
  });

  it('a PATCH refused as invalid: kube_rejected, not retryable', async () => {
    const { restart } = clusterPatchFailing(() => status(422, 'Invalid', 'spec.template: Invalid value'));
    expect(failureOf(await restart())).toMatchObject({ code: 'kube_rejected', retryable: false });
  });

  it('a Deployment that keeps changing under every attempt: conflict after five reads, retryable', async () => {
    const { restart, calls } = clusterPatchFailing(() =>
      status(
        409,
        'Conflict',
        'the object has been modified; please apply your changes to the latest version',
      ),
    );
    const failure = failureOf(await restart());
    expect(failure).toMatchObject({ code: 'conflict', retryable: true });
    expect(calls).toMatchObject({ reads: 5, patches: 5 });
  });

  it('a 409 from a status write the index has seen meanwhile: decides again on the index copy, without a read', async () => {
    let refused = false;
    const { restart, calls } = clusterPatchFailing((body, index) => {
      if (refused) return undefined;
      refused = true;
      // The deployment controller wrote status; its watch event reaches the index first.
      index.upsert(deploymentKind, {
        ...DEPLOYMENT,
        metadata: { ...DEPLOYMENT.metadata, resourceVersion: '8' },
      });
      return status(409, 'Conflict', `the object has been modified (${body.metadata?.resourceVersion})`);
    });

    expect((await restart())?.status).toBe('restarted');
    expect(calls).toEqual({ reads: 1, patches: 2, versions: ['7', '8'] });
  });

  it('a 409 the index has not caught up with: the workload is read fresh', async () => {
    let refused = false;
    const { restart, calls } = clusterPatchFailing(() => {
      if (refused) return undefined;
      refused = true;
      return status(409, 'Conflict', 'the object has been modified');
    });

    expect((await restart())?.status).toBe('restarted');
    expect(calls).toEqual({ reads: 2, patches: 2, versions: ['7', '7'] });
  });

  const GUARDED = { ...DEPLOYMENT, metadata: { ...DEPLOYMENT.metadata, uid: 'u-1', generation: 1 } };
  const guardFailed = () =>
    status(422, 'Invalid', 'the server rejected our request due to an error in our request');

  it('a guarded write refused once (a guard failed: the workload changed): decided again on a fresh read', async () => {
    let refused = false;
    const { restart, calls } = clusterPatchFailing(() => {
      if (refused) return undefined;
      refused = true;
      return guardFailed();
    }, GUARDED);

    expect((await restart())?.status).toBe('restarted');
    expect(calls).toMatchObject({ reads: 2, patches: 2 });
  });

  it('a guarded write refused again on a fresh read: the rejection, not retryable', async () => {
    const { restart, calls } = clusterPatchFailing(guardFailed, GUARDED);

    expect(failureOf(await restart())).toMatchObject({ code: 'kube_rejected', retryable: false });
    expect(calls).toMatchObject({ reads: 2, patches: 2 });
  });

  it('a PATCH the API server timed out (504): timeout, retryable', async () => {
    const { restart } = clusterPatchFailing(() =>
      status(504, 'Timeout', 'the server was unable to return a response in the time allotted'),
    );
    expect(failureOf(await restart())).toMatchObject({ code: 'timeout', retryable: true });
  });

  it('a PATCH whose connection timed out: timeout, retryable', async () => {
    const { restart } = clusterPatchFailing(() =>
      Object.assign(new Error('request to https://127.0.0.1:6443 failed, reason: connect ETIMEDOUT'), {
        name: 'FetchError',
        code: 'ETIMEDOUT',
      }),
    );
    expect(failureOf(await restart())).toMatchObject({ code: 'timeout', retryable: true });
  });
});

describe('Runner: the retry decision follows the restart failure in the outcome', () => {
  it('forbidden: recorded as done with the code in the outcome; the redelivery is a duplicate', async () => {
    const { restart } = clusterPatchFailing(() => status(403, 'Forbidden', 'cannot patch'));
    const { run, outcomes } = runnerRestartingWith(restart);

    const first = await run('eg-forbidden');
    const again = await run('eg-forbidden');

    expect(first.status).toBe('partial');
    expect(outcomes[0]).toEqual([
      expect.objectContaining({
        status: 'failed',
        kind: 'Deployment',
        name: 'api',
        error: expect.objectContaining({ code: 'forbidden', retryable: false }),
      }),
    ]);
    expect(again.status).toBe('duplicate');
  });

  it.each([
    ['conflict', () => status(409, 'Conflict', 'the object has been modified')],
    [
      'timeout',
      () => status(504, 'Timeout', 'the server was unable to return a response in the time allotted'),
    ],
  ])(
    '%s: nothing recorded as done, the sender is asked to deliver again, and the redelivery restarts',
    async (code, fault) => {
      let failing = true;
      const { restart } = clusterPatchFailing(fault);
      const { run, calls, outcomes } = runnerRestartingWith(async () =>
        failing
          ? restart()
          : {
              status: 'restarted',
              cluster: 'alpha',
              kind: 'Deployment',
              namespace: 'app',
              name: 'api',
              hashes: ['h'],
            },
      );

      await expect(run(`eg-${code}`)).rejects.toMatchObject({
        code: 'transient',
        retryable: true,
        message: expect.stringMatching(/restart Deployment app\/api.*deliver the event again/),
      });
      expect(outcomes[0]).toEqual([
        expect.objectContaining({
          status: 'failed',
          error: expect.objectContaining({ code, retryable: true }),
        }),
      ]);
      failing = false;
      const retried = await run(`eg-${code}`);

      expect(retried.status).toBe('completed');
      expect(retried.workloads).toEqual([expect.objectContaining({ status: 'restarted', name: 'api' })]);
      expect(calls.refresh).toHaveLength(2);
    },
  );
});
