import { afterEach, describe, expect, it, vi } from 'vitest';
import { ForbiddenError, TransientError } from '../../lib/errors.js';
import type { Story } from '../../lib/kube/event-story.js';
import { runPipeline } from '../../lib/pipeline.js';
import { changeEvent, ES, fakePorts, ManualClock, restarted } from './support/fake-ports.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('runPipeline: rotate? then per cluster resolve, refresh, restart', () => {
  it('refreshes what derives from the secret and restarts its consumers in every cluster, without rotating a change', async () => {
    const { ports, calls } = fakePorts({
      alpha: { derived: [ES], workloads: [restarted('alpha', 'api')] },
      beta: { derived: [ES], workloads: [restarted('beta', 'api')] },
    });

    const outcome = await runPipeline(changeEvent(), ports, new ManualClock());

    expect(outcome.status).toBe('completed');
    expect(calls.rotate).toEqual([]);
    expect(outcome.refreshes.map((r) => `${r.cluster}/${r.name}=${r.status}`)).toEqual([
      'alpha/db=refreshed',
      'beta/db=refreshed',
    ]);
    expect(calls.restart.map((r) => r.changed.map((c) => `${c.cluster}/${c.name}`))).toEqual([
      ['alpha/db-secret'],
      ['beta/db-secret'],
    ]);
    expect(outcome.timeline.map((t) => t.step)).toContain('workloads-patched');
  });

  it('asks rotation for a new version, naming the version the event saw', async () => {
    const { ports, calls } = fakePorts({ alpha: { derived: [ES] } }, { status: 'rotated', newVersion: 'v2' });

    const outcome = await runPipeline(
      changeEvent({ kind: 'near-expiry', version: 'v1' }),
      ports,
      new ManualClock(),
    );

    expect(calls.rotate).toEqual([{ ref: changeEvent().ref, reason: 'near-expiry', expectedVersion: 'v1' }]);
    expect(outcome.rotation).toEqual({ newVersion: 'v2' });
    expect(calls.resolve).toEqual(['alpha']);
  });

  it('stops with nothing-to-do when rotation is skipped, touching no cluster', async () => {
    const { ports, calls } = fakePorts(
      { alpha: { derived: [ES] } },
      { status: 'skipped', reason: 'not-due' },
    );

    const outcome = await runPipeline(changeEvent({ kind: 'rotate-due' }), ports, new ManualClock());

    expect(outcome).toMatchObject({ status: 'nothing-to-do', rotation: { skipped: 'not-due' } });
    expect(calls.resolve).toEqual([]);
  });

  it('skips rotation for a manual refresh even of a rotating kind', async () => {
    const { ports, calls } = fakePorts({ alpha: { derived: [ES] } }, { status: 'rotated', newVersion: 'v2' });

    await runPipeline(changeEvent({ kind: 'rotate-requested' }), ports, new ManualClock(), {
      skipRotation: true,
    });

    expect(calls.rotate).toEqual([]);
    expect(calls.resolve).toEqual(['alpha']);
  });

  it('in a dry run rotates nothing and asks refresh and restart for dry runs', async () => {
    const { ports, calls } = fakePorts({ alpha: { derived: [ES] } }, { status: 'rotated', newVersion: 'v2' });

    const outcome = await runPipeline(changeEvent({ kind: 'rotate-requested' }), ports, new ManualClock(), {
      dryRun: true,
    });

    expect(calls.rotate).toEqual([]);
    expect(outcome.rotation).toEqual({ skipped: 'dry run' });
    expect(outcome.dryRun).toBe(true);
  });

  it('runs the clusters of a rotation in a dry run as dry runs', async () => {
    const { ports, calls } = fakePorts({ alpha: { derived: [ES] } });

    await runPipeline(changeEvent(), ports, new ManualClock(), { dryRun: true });

    expect(calls.refresh).toEqual([{ cluster: 'alpha', dryRun: true }]);
    expect(calls.restart.map((r) => r.dryRun)).toEqual([true]);
  });

  it('reports a failing cluster with its error code and whether a retry can help, and finishes the others', async () => {
    const { ports } = fakePorts({
      alpha: { fail: new TransientError('connect ECONNREFUSED') },
      beta: { fail: new ForbiddenError('rotor may not list ExternalSecrets') },
      gamma: { derived: [ES], workloads: [restarted('gamma', 'api')] },
    });

    const outcome = await runPipeline(changeEvent(), ports, new ManualClock());

    expect(outcome.status).toBe('partial');
    expect(outcome.clusterFailures).toEqual([
      { cluster: 'alpha', error: { code: 'transient', message: 'connect ECONNREFUSED', retryable: true } },
      {
        cluster: 'beta',
        error: { code: 'forbidden', message: 'rotor may not list ExternalSecrets', retryable: false },
      },
    ]);
    expect(outcome.workloads.map((w) => w.cluster)).toEqual(['gamma']);
  });

  it('reports a cluster that does not finish by the deadline as retryable, without waiting for it', async () => {
    vi.useFakeTimers();
    const { ports } = fakePorts({ hung: { gate: new Promise(() => undefined) }, alpha: { derived: [ES] } });

    const running = runPipeline(changeEvent(), ports, new ManualClock(), { clusterDeadlineMs: 5_000 });
    await vi.advanceTimersByTimeAsync(5_000);
    const outcome = await running;

    expect(outcome.clusterFailures).toEqual([
      {
        cluster: 'hung',
        error: { code: 'timeout', message: 'cluster hung did not finish within 5000 ms', retryable: true },
      },
    ]);
    expect(outcome.refreshes.map((r) => r.cluster)).toEqual(['alpha']);
  });

  it('answers nothing-to-do when nothing derives from the secret anywhere', async () => {
    const { ports, calls } = fakePorts({ alpha: {}, beta: {} });

    const outcome = await runPipeline(changeEvent(), ports, new ManualClock());

    expect(outcome.status).toBe('nothing-to-do');
    expect(calls.refresh).toEqual([]);
  });

  it('announces what a cluster will change before forcing it, hands the announcement to restart, and releases it', async () => {
    const { ports } = fakePorts({ alpha: { derived: [ES], workloads: [restarted('alpha', 'api')] } });
    const log: string[] = [];
    const announcement = { release: () => log.push('released') };
    const refresh = ports.refresh;
    const restart = ports.restart;
    const outcome = await runPipeline(
      changeEvent(),
      {
        ...ports,
        announce: (cluster, derived) => {
          log.push(`announced ${cluster}: ${derived.map((d) => d.name).join(',')}`);
          return announcement;
        },
        refresh: (cluster, derived, options) => {
          log.push('refresh');
          return refresh(cluster, derived, options);
        },
        restart: (cluster, changed, options) => {
          log.push(`restart with ${options.announcement === announcement ? 'the' : 'no'} announcement`);
          return restart(cluster, changed, options);
        },
      },
      new ManualClock(),
    );

    expect(outcome.status).toBe('completed');
    expect(log).toEqual(['announced alpha: db', 'refresh', 'restart with the announcement', 'released']);
  });

  it('releases the announcement of a cluster whose refresh failed, and announces nothing in a dry run', async () => {
    const { ports } = fakePorts({ alpha: { derived: [ES] } });
    const log: string[] = [];
    const failing = {
      ...ports,
      announce: () => ({ release: () => log.push('released') }),
      refresh: async () => {
        throw new TransientError('the API server went away');
      },
    };

    const failed = await runPipeline(changeEvent(), failing, new ManualClock());
    await runPipeline(changeEvent(), { ...ports, announce: failing.announce }, new ManualClock(), {
      dryRun: true,
    });

    expect(failed.clusterFailures).toHaveLength(1);
    expect(log).toEqual(['released']);
  });
});

describe('runPipeline: tells the objects it touched (Kubernetes Events), off the critical path', () => {
  it('tells each cluster its refreshes and restarts with the version rotor wrote, then each rollout as it ends', async () => {
    const { ports } = fakePorts(
      { alpha: { derived: [ES], workloads: [restarted('alpha', 'api')] } },
      { status: 'rotated', newVersion: 'v2' },
    );
    const stories: Array<{ cluster: string; story: Story }> = [];
    ports.tell = (cluster, story) => stories.push({ cluster, story });
    ports.follow = async () => ({ status: 'rolled-out', ms: 900 });

    await runPipeline(changeEvent({ kind: 'near-expiry', version: 'v1' }), ports, new ManualClock(), {
      followWaitMs: 1_000,
    });

    expect(stories.map((s) => s.cluster)).toEqual(['alpha', 'alpha']);
    expect(stories[0]?.story).toMatchObject({
      eventId: 'event-1',
      version: 'v2',
      refreshes: [{ name: 'db', status: 'refreshed' }],
      workloads: [{ name: 'api', status: 'restarted' }],
    });
    expect(stories[1]?.story.workloads).toEqual([
      expect.objectContaining({ name: 'api', rollout: { status: 'rolled-out', ms: 900 } }),
    ]);
  });

  it('tells nothing in a dry run', async () => {
    const { ports } = fakePorts({ alpha: { derived: [ES], workloads: [restarted('alpha', 'api')] } });
    const stories: unknown[] = [];
    ports.tell = (_cluster, story) => stories.push(story);

    await runPipeline(changeEvent(), ports, new ManualClock(), { dryRun: true });

    expect(stories).toEqual([]);
  });
});
