import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../../lib/clock.js';
import { RELOADER } from '../../../lib/kube/restart/index.js';
import { resumeExpiredPauses } from '../../../lib/kube/restart/pause.js';
import { container, envOf, podSpec, type RestartFixture, restartFixture, sleep } from './helpers.js';

const secretRef = (name: string) => ({
  env: [{ name: 'PASSWORD', valueFrom: { secretKeyRef: { name, key: 'password' } } }],
});

describe("Reloader's pause-period on Deployments (real kube-apiserver, rotor identity)", () => {
  let f: RestartFixture;
  let ns: string;

  beforeAll(async () => {
    ({ f, ns } = await restartFixture('restart-pause'));
  });
  afterAll(async () => f.closeAll());

  it('the restart patch also pauses the Deployment and stamps paused-at; a later change accumulates in the paused template', async () => {
    await f.createSecret(ns, 'db', { password: 'one' });
    await f.createDeployment(ns, 'web', podSpec([container('web', secretRef('db'))]), {
      annotations: { [RELOADER.auto]: 'true', [RELOADER.pausePeriod]: '1h' },
    });
    const engine = f.engineFor();

    const [first] = await engine.restart([f.change('Secret', ns, 'db')]);
    const paused = await f.readDeployment(ns, 'web');
    await f.updateSecret(ns, 'db', { password: 'two' });
    const [second] = await engine.restart([f.change('Secret', ns, 'db')]);
    const after = await f.readDeployment(ns, 'web');

    expect(first?.status).toBe('restarted');
    expect(paused.spec?.paused).toBe(true);
    expect(Date.parse(paused.metadata?.annotations?.[RELOADER.pausedAt] ?? '')).toBeGreaterThan(
      Date.now() - 60_000,
    );
    // Paused by the restart itself, so not "paused by a person": the next change is written.
    expect(second?.status).toBe('restarted');
    expect(envOf(after, 'web').STAKATER_DB_SECRET).not.toBe(envOf(paused, 'web').STAKATER_DB_SECRET);
  });

  it('the engine resumes what it paused when the period ends', async () => {
    await f.createSecret(ns, 'cache', { password: 'one' });
    await f.createDeployment(ns, 'cache', podSpec([container('cache', secretRef('cache'))]), {
      annotations: { [RELOADER.auto]: 'true', [RELOADER.pausePeriod]: '1s' },
    });

    await f.engineFor().restart([f.change('Secret', ns, 'cache')]);
    const paused = await f.readDeployment(ns, 'cache');
    await sleep(1_800);
    const resumed = await f.readDeployment(ns, 'cache');

    expect(paused.spec?.paused).toBe(true);
    expect(resumed.spec?.paused ?? false).toBe(false); // the API omits a false paused
    expect(resumed.metadata?.annotations?.[RELOADER.pausedAt]).toBeUndefined();
  });

  it('the timer resumes pauses left by an engine that is gone, once their period is over and not before', async () => {
    await f.createSecret(ns, 'api', { password: 'one' });
    await f.createDeployment(ns, 'api', podSpec([container('api', secretRef('api'))]), {
      annotations: { [RELOADER.auto]: 'true', [RELOADER.pausePeriod]: '2s' },
    });
    const engine = f.engineFor();
    await engine.restart([f.change('Secret', ns, 'api')]);
    await engine.close();

    const early = await resumeExpiredPauses(f.rotor, systemClock);
    await sleep(2_200);
    const due = await resumeExpiredPauses(f.rotor, systemClock);
    const resumed = await f.readDeployment(ns, 'api');

    expect(early.filter((r) => r.namespace === ns && r.name === 'api')).toEqual([]);
    expect(due).toContainEqual({ namespace: ns, name: 'api' });
    expect(resumed.spec?.paused ?? false).toBe(false); // the API omits a false paused
    expect(resumed.metadata?.annotations?.[RELOADER.pausedAt]).toBeUndefined();
  });

  it('a Deployment paused by a person is still skipped with a reason', async () => {
    await f.createSecret(ns, 'manual', { password: 'one' });
    await f.createDeployment(ns, 'manual', podSpec([container('manual', secretRef('manual'))]), {
      annotations: { [RELOADER.auto]: 'true', [RELOADER.pausePeriod]: '1h' },
      paused: true,
    });

    const [result] = await f.engineFor().restart([f.change('Secret', ns, 'manual')]);

    expect(result).toMatchObject({ status: 'skipped', reason: expect.stringContaining('paused') });
  });
});
