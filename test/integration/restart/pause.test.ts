import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../../lib/clock.js';
import { RELOADER } from '../../../lib/kube/restart/index.js';
import { resumeExpiredPauses } from '../../../lib/kube/restart/pause.js';
import {
  change,
  closeAll,
  container,
  createDeployment,
  createSecret,
  engineFor,
  envOf,
  fixture,
  namespace,
  podSpec,
  type RestartFixture,
  readDeployment,
  sleep,
  updateSecret,
} from './helpers.js';

const secretRef = (name: string) => ({
  env: [{ name: 'PASSWORD', valueFrom: { secretKeyRef: { name, key: 'password' } } }],
});

describe("Reloader's pause-period on Deployments (real kube-apiserver, rotor identity)", () => {
  let f: RestartFixture;
  let ns: string;

  beforeAll(async () => {
    f = fixture();
    ns = await namespace(f, 'restart-pause');
  });
  afterAll(async () => closeAll(f));

  it('the restart patch also pauses the Deployment and stamps paused-at; a later change accumulates in the paused template', async () => {
    await createSecret(f, ns, 'db', { password: 'one' });
    await createDeployment(f, ns, 'web', podSpec([container('web', secretRef('db'))]), {
      annotations: { [RELOADER.auto]: 'true', [RELOADER.pausePeriod]: '1h' },
    });
    const engine = engineFor(f);

    const [first] = await engine.restart([change(f, 'Secret', ns, 'db')]);
    const paused = await readDeployment(f, ns, 'web');
    await updateSecret(f, ns, 'db', { password: 'two' });
    const [second] = await engine.restart([change(f, 'Secret', ns, 'db')]);
    const after = await readDeployment(f, ns, 'web');

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
    await createSecret(f, ns, 'cache', { password: 'one' });
    await createDeployment(f, ns, 'cache', podSpec([container('cache', secretRef('cache'))]), {
      annotations: { [RELOADER.auto]: 'true', [RELOADER.pausePeriod]: '1s' },
    });

    await engineFor(f).restart([change(f, 'Secret', ns, 'cache')]);
    const paused = await readDeployment(f, ns, 'cache');
    await sleep(1_800);
    const resumed = await readDeployment(f, ns, 'cache');

    expect(paused.spec?.paused).toBe(true);
    expect(resumed.spec?.paused ?? false).toBe(false); // the API omits a false paused
    expect(resumed.metadata?.annotations?.[RELOADER.pausedAt]).toBeUndefined();
  });

  it('the timer resumes pauses left by an engine that is gone, once their period is over and not before', async () => {
    await createSecret(f, ns, 'api', { password: 'one' });
    await createDeployment(f, ns, 'api', podSpec([container('api', secretRef('api'))]), {
      annotations: { [RELOADER.auto]: 'true', [RELOADER.pausePeriod]: '2s' },
    });
    const engine = engineFor(f);
    await engine.restart([change(f, 'Secret', ns, 'api')]);
    await engine.close();

    const early = await resumeExpiredPauses(f.rotor, systemClock);
    await sleep(2_200);
    const due = await resumeExpiredPauses(f.rotor, systemClock);
    const resumed = await readDeployment(f, ns, 'api');

    expect(early.filter((r) => r.namespace === ns && r.name === 'api')).toEqual([]);
    expect(due).toContainEqual({ namespace: ns, name: 'api' });
    expect(resumed.spec?.paused ?? false).toBe(false); // the API omits a false paused
    expect(resumed.metadata?.annotations?.[RELOADER.pausedAt]).toBeUndefined();
  });

  it('a Deployment paused by a person is still skipped with a reason', async () => {
    await createSecret(f, ns, 'manual', { password: 'one' });
    await createDeployment(f, ns, 'manual', podSpec([container('manual', secretRef('manual'))]), {
      annotations: { [RELOADER.auto]: 'true', [RELOADER.pausePeriod]: '1h' },
      paused: true,
    });

    const [result] = await engineFor(f).restart([change(f, 'Secret', ns, 'manual')]);

    expect(result).toMatchObject({ status: 'skipped', reason: expect.stringContaining('paused') });
  });
});
