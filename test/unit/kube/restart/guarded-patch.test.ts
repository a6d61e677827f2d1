import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../../../lib/kube/api/objects.js';
import { guardedTemplatePatch } from '../../../../lib/kube/restart/kinds/guarded-patch.js';
import { slimPodTemplateWorkload } from '../../../../lib/kube/restart/kinds/slim.js';

const deployment: KubeObject = {
  metadata: {
    name: 'api',
    namespace: 'app',
    uid: 'u-1',
    generation: 4,
    resourceVersion: '77',
    annotations: { 'reloader.stakater.com/auto': 'true', 'deployment.kubernetes.io/revision': '3' },
  },
  spec: {
    template: {
      metadata: { labels: { app: 'api' } },
      spec: {
        containers: [
          { name: 'sidecar', image: 'x' },
          {
            name: 'api',
            image: 'y',
            env: [
              { name: 'PLAIN', value: 'p' },
              { name: 'STAKATER_DB_SECRET', value: 'old' },
            ],
          },
        ],
      },
    },
  },
};

const tests = (ops: ReturnType<typeof guardedTemplatePatch>) => (ops ?? []).filter((o) => o.op === 'test');
const writes = (ops: ReturnType<typeof guardedTemplatePatch>) => (ops ?? []).filter((o) => o.op !== 'test');

describe('guardedTemplatePatch: a restart write guarded by what the decision read', () => {
  it('is guarded by uid, generation and every annotation the rules read, absent ones as null', () => {
    const ops = guardedTemplatePatch(deployment, {
      spec: { containers: [{ name: 'api', env: [{ name: 'STAKATER_DB_SECRET', value: 'h' }] }] },
    });
    const guards = tests(ops);

    expect(guards.slice(0, 2)).toEqual([
      { op: 'test', path: '/metadata/uid', value: 'u-1' },
      { op: 'test', path: '/metadata/generation', value: 4 },
    ]);
    expect(guards).toContainEqual({
      op: 'test',
      path: '/metadata/annotations/reloader.stakater.com~1auto',
      value: 'true',
    });
    expect(guards).toContainEqual({
      op: 'test',
      path: '/metadata/annotations/secrets.exclude.reloader.stakater.com~1reload',
      value: null,
    });
    // Not read by the decision: the deployment controller may change it freely.
    expect(guards.map((g) => g.path)).not.toContain(
      '/metadata/annotations/deployment.kubernetes.io~1revision',
    );
  });

  it('replaces a variable in its place and appends a new one, on the container found by name', () => {
    const ops = guardedTemplatePatch(deployment, {
      spec: {
        containers: [
          {
            name: 'api',
            env: [
              { name: 'STAKATER_DB_SECRET', value: 'h1' },
              { name: 'STAKATER_TLS_SECRET', value: 'h2' },
            ],
          },
        ],
      },
    });

    expect(tests(ops).slice(-2)).toEqual([
      { op: 'test', path: '/spec/template/spec/containers/1/name', value: 'api' },
      { op: 'test', path: '/spec/template/spec/containers/1/env/1/name', value: 'STAKATER_DB_SECRET' },
    ]);
    expect(writes(ops)).toEqual([
      { op: 'add', path: '/spec/template/spec/containers/1/env/1/value', value: 'h1' },
      {
        op: 'add',
        path: '/spec/template/spec/containers/1/env/-',
        value: { name: 'STAKATER_TLS_SECRET', value: 'h2' },
      },
    ]);
  });

  it('the index copy addresses the same places as the full object', () => {
    const patch = {
      spec: { containers: [{ name: 'api', env: [{ name: 'STAKATER_DB_SECRET', value: 'h' }] }] },
    };
    expect(writes(guardedTemplatePatch(slimPodTemplateWorkload(deployment), patch))).toEqual(
      writes(guardedTemplatePatch(deployment, patch)),
    );
  });

  it('creates what is missing: env on a container without one, the template annotations, the pause', () => {
    const ops = guardedTemplatePatch(
      deployment,
      {
        metadata: { annotations: { 'rotor.dev/reloaded-hashes': '{}' } },
        spec: { containers: [{ name: 'sidecar', env: [{ name: 'STAKATER_DB_SECRET', value: 'h' }] }] },
      },
      {
        metadata: { annotations: { 'deployment.reloader.stakater.com/paused-at': 'now' } },
        spec: { paused: true },
      },
    );

    expect(writes(ops)).toEqual([
      {
        op: 'add',
        path: '/spec/template/metadata/annotations',
        value: { 'rotor.dev/reloaded-hashes': '{}' },
      },
      {
        op: 'add',
        path: '/spec/template/spec/containers/0/env',
        value: [{ name: 'STAKATER_DB_SECRET', value: 'h' }],
      },
      { op: 'add', path: '/metadata/annotations/deployment.reloader.stakater.com~1paused-at', value: 'now' },
      { op: 'add', path: '/spec/paused', value: true },
    ]);
  });

  it('an object without annotations is guarded by their absence; one without a generation is not guarded here', () => {
    const bare = { ...deployment, metadata: { ...deployment.metadata, annotations: undefined } };
    const patch = { spec: { containers: [{ name: 'api', env: [{ name: 'X', value: 'h' }] }] } };

    expect(tests(guardedTemplatePatch(bare, patch))).toContainEqual({
      op: 'test',
      path: '/metadata/annotations',
      value: null,
    });
    const noGeneration = { ...deployment, metadata: { ...deployment.metadata, generation: undefined } };
    expect(guardedTemplatePatch(noGeneration, patch)).toBeUndefined();
  });
});
