import { createHash } from 'node:crypto';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterClient } from '../../../lib/kube/cluster.js';
import { RELOADER } from '../../../lib/kube/restart/index.js';
import {
  container,
  envOf,
  podSpec,
  type RestartFixture,
  restartFixture,
  rotorView,
  sleep,
} from './helpers.js';

// Reloader's hash of a one-key Secret is SHA-1 of "key=value": computed here by hand.
const sha1 = (text: string) => createHash('sha1').update(text).digest('hex');
const AUTO = { [RELOADER.auto]: 'true' };

describe('restart engine on Deployments (real kube-apiserver, rotor identity)', () => {
  let f: RestartFixture;
  let ns: string;

  beforeAll(async () => {
    ({ f, ns } = await restartFixture('restart-deploy'));
  });
  afterAll(async () => f.closeAll());

  it('writes STAKATER_<NAME>_SECRET with the hash of the stored Secret and bumps the generation once', async () => {
    await f.createSecret(ns, 'db', { password: 's3cr3t' });
    const before = await f.createDeployment(
      ns,
      'web',
      podSpec([container('app', { envFrom: [{ secretRef: { name: 'db' } }] })]),
      { annotations: AUTO },
    );
    const engine = f.engineFor();

    const results = await engine.restart([f.change('Secret', ns, 'db')]);

    const after = await f.readDeployment(ns, 'web');
    expect(results).toEqual([
      {
        cluster: f.cluster.name,
        kind: 'Deployment',
        namespace: ns,
        name: 'web',
        status: 'restarted',
        hashes: [sha1('password=s3cr3t')],
        generation: (before.metadata?.generation ?? 0) + 1,
      },
    ]);
    expect(envOf(after, 'app').STAKATER_DB_SECRET).toBe(sha1('password=s3cr3t'));
    expect(after.metadata?.generation).toBe((before.metadata?.generation ?? 0) + 1);
  });

  it('answers a repeated event with already-current and writes nothing', async () => {
    await f.createSecret(ns, 'repeat', { k: 'v' });
    await f.createDeployment(
      ns,
      'repeat',
      podSpec([container('app', { envFrom: [{ secretRef: { name: 'repeat' } }] })]),
      { annotations: AUTO },
    );
    const engine = f.engineFor();
    await engine.restart([f.change('Secret', ns, 'repeat')]);
    const once = await f.readDeployment(ns, 'repeat');

    const again = await engine.restart([f.change('Secret', ns, 'repeat')]);

    expect(again.map((r) => r.status)).toEqual(['already-current']);
    const twice = await f.readDeployment(ns, 'repeat');
    expect(twice.metadata?.generation).toBe(once.metadata?.generation);
    expect(rotorView(twice)).toEqual(rotorView(once));
  });

  it('coexists with Reloader: a template already carrying its variable with the same hash is not written again', async () => {
    await f.createSecret(ns, 'shared', { token: 'abc' });
    const reloaderWrote = [{ name: 'STAKATER_SHARED_SECRET', value: sha1('token=abc') }];
    const created = await f.createDeployment(
      ns,
      'coexist',
      podSpec([container('app', { env: reloaderWrote, envFrom: [{ secretRef: { name: 'shared' } }] })]),
      { annotations: AUTO },
    );

    const results = await f.engineFor().restart([f.change('Secret', ns, 'shared')]);

    expect(results.map((r) => r.status)).toEqual(['already-current']);
    const after = await f.readDeployment(ns, 'coexist');
    expect(after.metadata?.generation).toBe(created.metadata?.generation);
  });

  it('coalesces a change with one a run announced for the same workload into one patch carrying every hash', async () => {
    await f.createSecret(ns, 'a', { k: '1' });
    await f.createSecret(ns, 'b', { k: '2' });
    const created = await f.createDeployment(
      ns,
      'both',
      podSpec([container('app', { envFrom: [{ secretRef: { name: 'a' } }, { secretRef: { name: 'b' } }] })]),
      { annotations: AUTO },
    );
    const engine = f.engineFor({ coalesceWindowMs: 300 });
    await engine.start();
    // A run refreshing Secret b announces it (as the pipeline does after resolve), so the
    // patch for a waits for b instead of writing twice; a lone change would not wait.
    const announced = engine.expect([f.change('Secret', ns, 'b')]);

    const first = engine.restart([f.change('Secret', ns, 'a')]);
    await sleep(50);
    const second = engine.restart([f.change('Secret', ns, 'b')], { expectation: announced });
    const [r1, r2] = await Promise.all([first, second]);

    expect(r1).toEqual(r2);
    expect(r1[0]).toMatchObject({ status: 'restarted', hashes: [sha1('k=1'), sha1('k=2')] });
    const after = await f.readDeployment(ns, 'both');
    expect(after.metadata?.generation).toBe((created.metadata?.generation ?? 0) + 1);
    expect(envOf(after, 'app')).toMatchObject({
      STAKATER_A_SECRET: sha1('k=1'),
      STAKATER_B_SECRET: sha1('k=2'),
    });
  });

  it('does not roll twice when overlapping restart() calls concern the same workload after the window', async () => {
    await f.createSecret(ns, 'burst', { k: 'one' });
    const created = await f.createDeployment(
      ns,
      'burst',
      podSpec([container('app', { envFrom: [{ secretRef: { name: 'burst' } }] })]),
      { annotations: AUTO },
    );
    const engine = f.engineFor({ coalesceWindowMs: 0 });

    const results = await Promise.all(
      Array.from({ length: 5 }, () => engine.restart([f.change('Secret', ns, 'burst')])),
    );

    // Calls that met in one batch share its result; later ones find the hash in place.
    const statuses = new Set(results.flat().map((r) => r.status));
    expect([...statuses].every((s) => s === 'restarted' || s === 'already-current')).toBe(true);
    expect(statuses.has('restarted')).toBe(true);
    const after = await f.readDeployment(ns, 'burst');
    expect(after.metadata?.generation).toBe((created.metadata?.generation ?? 0) + 1);
  });

  it('restarts again when the Secret content really changed', async () => {
    await f.createSecret(ns, 'rotating', { k: 'v1' });
    await f.createDeployment(
      ns,
      'rotating',
      podSpec([container('app', { envFrom: [{ secretRef: { name: 'rotating' } }] })]),
      { annotations: AUTO },
    );
    const engine = f.engineFor();
    await engine.restart([f.change('Secret', ns, 'rotating')]);
    await f.updateSecret(ns, 'rotating', { k: 'v2' });

    const results = await engine.restart([f.change('Secret', ns, 'rotating')]);

    expect(results[0]).toMatchObject({ status: 'restarted', hashes: [sha1('k=v2')] });
    expect(envOf(await f.readDeployment(ns, 'rotating'), 'app').STAKATER_ROTATING_SECRET).toBe(sha1('k=v2'));
  });

  it('skips a paused Deployment with a reason and leaves it untouched', async () => {
    await f.createSecret(ns, 'paused', { k: 'v' });
    const created = await f.createDeployment(
      ns,
      'paused',
      podSpec([container('app', { envFrom: [{ secretRef: { name: 'paused' } }] })]),
      {
        annotations: AUTO,
        paused: true,
      },
    );

    const results = await f.engineFor().restart([f.change('Secret', ns, 'paused')]);

    expect(results[0]).toMatchObject({ status: 'skipped', reason: expect.stringMatching(/paused/) });
    expect(rotorView(await f.readDeployment(ns, 'paused'))).toEqual(rotorView(created));
  });

  it('plans with the same decisions and writes nothing (plan and restart with dryRun)', async () => {
    await f.createSecret(ns, 'planned', { k: 'v' });
    const created = await f.createDeployment(
      ns,
      'planned',
      podSpec([container('app', { envFrom: [{ secretRef: { name: 'planned' } }] })]),
      { annotations: AUTO },
    );
    const engine = f.engineFor();

    const planned = await engine.plan([f.change('Secret', ns, 'planned')]);
    const dry = await engine.restart([f.change('Secret', ns, 'planned')], { dryRun: true });

    expect(planned).toEqual([
      {
        cluster: f.cluster.name,
        kind: 'Deployment',
        namespace: ns,
        name: 'planned',
        status: 'restarted',
        hashes: [sha1('k=v')],
      },
    ]);
    expect(dry).toEqual(planned);
    expect(rotorView(await f.readDeployment(ns, 'planned'))).toEqual(rotorView(created));
    const real = await engine.restart([f.change('Secret', ns, 'planned')]);
    expect(real[0]?.status).toBe('restarted');
  });

  /**
   * A real client whose first Deployment write for `name` is preceded by `meanwhile`
   * (someone else's change between rotor's decision and its write); counts the writes.
   */
  function interleaved(name: string, meanwhile: () => Promise<unknown>) {
    const writes = { count: 0 };
    const client: ClusterClient = {
      ...f.rotor,
      apps: new Proxy(f.rotor.apps, {
        get(target, prop, receiver) {
          const value = Reflect.get(target, prop, receiver);
          if (prop !== 'patchNamespacedDeployment')
            return typeof value === 'function' ? value.bind(target) : value;
          return async (...args: Parameters<typeof target.patchNamespacedDeployment>) => {
            if (args[0].name === name && writes.count++ === 0) await meanwhile();
            return target.patchNamespacedDeployment(...args);
          };
        },
      }),
    };
    return { client, writes };
  }
  const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

  it('a status write and a label change between decision and write: written at once, no 409, nothing lost', async () => {
    await f.createSecret(ns, 'race', { k: 'v' });
    const created = await f.createDeployment(
      ns,
      'race',
      podSpec([container('app', { envFrom: [{ secretRef: { name: 'race' } }] })]),
      { annotations: AUTO },
    );
    // What the deployment controller does during a rollout (status), and an unrelated edit:
    // neither changes what the decision read, so neither may cost a refused write. The
    // status write adds a condition beside the real controller's (merged by type): invented
    // replica counts could contradict the controller's own and make every later write of
    // the Deployment invalid (422), which is not the race this test is about.
    const now = new Date().toISOString();
    const condition = {
      type: 'RotorTest',
      status: 'True',
      reason: 'Test',
      message: 'a status write',
      lastUpdateTime: now,
      lastTransitionTime: now,
    };
    const { client, writes } = interleaved('race', async () => {
      await f.admin.apps.patchNamespacedDeploymentStatus(
        { namespace: ns, name: 'race', body: { status: { conditions: [condition] } } },
        setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
      );
      await f.admin.apps.patchNamespacedDeployment(
        { namespace: ns, name: 'race', body: { metadata: { labels: { touched: 'by-someone-else' } } } },
        mergePatch,
      );
    });

    const results = await f.engineFor({}, client).restart([f.change('Secret', ns, 'race')]);

    expect(results[0]?.status).toBe('restarted');
    expect(writes.count).toBe(1);
    const after = await f.readDeployment(ns, 'race');
    expect(after.metadata?.generation).toBe((created.metadata?.generation ?? 0) + 1);
    expect(after.metadata?.labels).toEqual({ touched: 'by-someone-else' });
    expect(envOf(after, 'app').STAKATER_RACE_SECRET).toBe(sha1('k=v'));
  });

  it('a template edit between decision and write (variables moved): decided again, the variable lands by name', async () => {
    await f.createSecret(ns, 'moved', { k: 'v' });
    await f.createDeployment(
      ns,
      'moved',
      podSpec([
        container('app', {
          envFrom: [{ secretRef: { name: 'moved' } }],
          env: [
            { name: 'A', value: '1' },
            { name: 'STAKATER_MOVED_SECRET', value: 'old' },
          ],
        }),
      ]),
      { annotations: AUTO },
    );
    // Someone puts a variable in front: every position rotor decided on moves by one.
    const { client, writes } = interleaved('moved', () =>
      f.admin.apps.patchNamespacedDeployment(
        {
          namespace: ns,
          name: 'moved',
          body: [
            {
              op: 'add',
              path: '/spec/template/spec/containers/0/env/0',
              value: { name: 'FIRST', value: 'x' },
            },
          ],
        },
        setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
      ),
    );

    const results = await f.engineFor({}, client).restart([f.change('Secret', ns, 'moved')]);

    expect(results[0]?.status).toBe('restarted');
    expect(writes.count).toBe(2);
    const env = (await f.readDeployment(ns, 'moved')).spec?.template?.spec?.containers?.[0]?.env;
    expect(env).toEqual([
      { name: 'FIRST', value: 'x' },
      { name: 'A', value: '1' },
      { name: 'STAKATER_MOVED_SECRET', value: sha1('k=v') },
    ]);
  });

  it('an exclude annotation added between decision and write: decided again, and not restarted', async () => {
    await f.createSecret(ns, 'excluded', { k: 'v' });
    const created = await f.createDeployment(
      ns,
      'excluded',
      podSpec([container('app', { envFrom: [{ secretRef: { name: 'excluded' } }] })]),
      { annotations: AUTO },
    );
    const { client } = interleaved('excluded', () =>
      f.admin.apps.patchNamespacedDeployment(
        {
          namespace: ns,
          name: 'excluded',
          body: { metadata: { annotations: { 'secrets.exclude.reloader.stakater.com/reload': 'excluded' } } },
        },
        mergePatch,
      ),
    );

    const results = await f.engineFor({}, client).restart([f.change('Secret', ns, 'excluded')]);

    expect(results[0]).toMatchObject({ status: 'skipped', reason: expect.stringMatching(/exclude/) });
    const after = await f.readDeployment(ns, 'excluded');
    expect(envOf(after, 'app').STAKATER_EXCLUDED_SECRET).toBeUndefined();
    expect(after.spec?.template).toEqual(created.spec?.template);
  });

  it('restarts a workload named in secret.reloader.stakater.com/reload even without a reference (first container)', async () => {
    await f.createSecret(ns, 'external-1', { k: 'v' });
    await f.createDeployment(ns, 'named', podSpec([container('first'), container('second')]), {
      annotations: { 'secret.reloader.stakater.com/reload': 'external-.*' },
    });

    const results = await f.engineFor().restart([f.change('Secret', ns, 'external-1')]);

    expect(results.find((r) => r.name === 'named')?.status).toBe('restarted');
    expect(envOf(await f.readDeployment(ns, 'named'), 'first').STAKATER_EXTERNAL_1_SECRET).toBe(sha1('k=v'));
  });

  it('gives a referencing workload that is not opted in a skipped result with the reason', async () => {
    await f.createSecret(ns, 'plain', { k: 'v' });
    await f.createDeployment(
      ns,
      'plain',
      podSpec([container('app', { envFrom: [{ secretRef: { name: 'plain' } }] })]),
    );

    const results = await f.engineFor().restart([f.change('Secret', ns, 'plain')]);

    expect(results).toEqual([
      expect.objectContaining({
        name: 'plain',
        status: 'skipped',
        reason: expect.stringMatching(/not opted in/),
      }),
    ]);
  });

  it('honours reloader.stakater.com/ignore on the Secret', async () => {
    await f.createSecret(ns, 'ignored', { k: 'v' }, { annotations: { [RELOADER.ignore]: 'true' } });
    await f.createDeployment(
      ns,
      'ignored',
      podSpec([container('app', { envFrom: [{ secretRef: { name: 'ignored' } }] })]),
      { annotations: AUTO },
    );

    const results = await f.engineFor().restart([f.change('Secret', ns, 'ignored')]);

    expect(results[0]).toMatchObject({ status: 'skipped', reason: expect.stringMatching(/ignore/) });
  });

  it('restarts for search + match and reports a deleted Secret as skipped', async () => {
    await f.createSecret(ns, 'matched', { k: 'v' }, { annotations: { [RELOADER.match]: 'true' } });
    await f.createDeployment(
      ns,
      'searching',
      podSpec([
        container('app', { envFrom: [{ secretRef: { name: 'matched' } }, { secretRef: { name: 'gone' } }] }),
      ]),
      { templateAnnotations: { [RELOADER.search]: 'true' } },
    );
    const engine = f.engineFor();

    expect((await engine.restart([f.change('Secret', ns, 'matched')]))[0]?.status).toBe('restarted');
    const gone = await engine.restart([f.change('Secret', ns, 'gone')]);
    expect(gone[0]).toMatchObject({ status: 'skipped', reason: expect.stringMatching(/does not exist/) });
  });

  it('applies namespacesToIgnore, namespaceSelector and resourceLabelSelector as Reloader does', async () => {
    await f.createSecret(ns, 'scoped', { k: 'v' }, { labels: { team: 'a' } });
    await f.createDeployment(
      ns,
      'scoped',
      podSpec([container('app', { envFrom: [{ secretRef: { name: 'scoped' } }] })]),
      { annotations: AUTO },
    );
    const c = [f.change('Secret', ns, 'scoped')];

    const ignored = await f.engineFor({ namespacesToIgnore: [ns] }).plan(c);
    const unselectedNs = await f.engineFor({ namespaceSelector: 'reloader=enabled' }).plan(c);
    const wrongLabel = await f.engineFor({ resourceLabelSelector: 'team=b' }).plan(c);
    await f.admin.core.patchNamespace(
      { name: ns, body: { metadata: { labels: { reloader: 'enabled' } } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    const selected = await f
      .engineFor({
        namespaceSelector: 'reloader=enabled',
        resourceLabelSelector: 'team in (a,b)',
      })
      .plan(c);

    expect(ignored[0]).toMatchObject({
      status: 'skipped',
      reason: expect.stringMatching(/namespacesToIgnore/),
    });
    expect(unselectedNs[0]).toMatchObject({
      status: 'skipped',
      reason: expect.stringMatching(/namespaceSelector/),
    });
    expect(wrongLabel[0]).toMatchObject({
      status: 'skipped',
      reason: expect.stringMatching(/resourceLabelSelector/),
    });
    expect(selected[0]?.status).toBe('restarted');
  });

  it('with the annotations strategy writes last-reloaded-from once and is idempotent', async () => {
    await f.createSecret(ns, 'annotated', { k: 'v' });
    await f.createDeployment(
      ns,
      'annotated',
      podSpec([container('app', { envFrom: [{ secretRef: { name: 'annotated' } }] })]),
      { annotations: AUTO },
    );
    const engine = f.engineFor({ strategy: 'annotations' });

    const first = await engine.restart([f.change('Secret', ns, 'annotated')]);
    const generation = (await f.readDeployment(ns, 'annotated')).metadata?.generation;
    const second = await engine.restart([f.change('Secret', ns, 'annotated')]);

    expect([first[0]?.status, second[0]?.status]).toEqual(['restarted', 'already-current']);
    const after = await f.readDeployment(ns, 'annotated');
    expect(after.metadata?.generation).toBe(generation);
    const source = JSON.parse(
      after.spec?.template?.metadata?.annotations?.[RELOADER.lastReloadedFrom] ?? '{}',
    );
    expect(source).toMatchObject({
      type: 'SECRET',
      name: 'annotated',
      namespace: ns,
      hash: sha1('k=v'),
      containerRefs: ['app'],
    });
  });
});
