import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../../../lib/kube/api/objects.js';
import { decideTargets, type ScopedResource } from '../../../../lib/kube/restart/decide.js';
import { deploymentKind } from '../../../../lib/kube/restart/kinds/deployment.js';

function deployment(annotations: Record<string, string>, spec: object): KubeObject {
  return {
    metadata: { name: 'web', namespace: 'shop', annotations },
    spec: { template: { metadata: {}, spec } },
  };
}

function secret(name: string, annotations: Record<string, string> = {}): ScopedResource {
  return {
    resource: {
      present: true,
      change: { cluster: 'c', kind: 'Secret', namespace: 'shop', name },
      type: 'SECRET',
      hash: `hash-${name}`,
      annotations,
      labels: {},
    },
  };
}

const options = { autoReloadAll: false, ignoredWorkloadTypes: [] };
const mounting = {
  containers: [{ name: 'app', envFrom: [{ secretRef: { name: 'db' } }, { secretRef: { name: 'api' } }] }],
};

describe('decideTargets', () => {
  it('targets every changed resource the rules accept, on the container that uses it', () => {
    const d = decideTargets(
      deploymentKind,
      deployment({ 'reloader.stakater.com/auto': 'true' }, mounting),
      [secret('db'), secret('api')],
      options,
    );
    expect(d.consumer).toBe(true);
    expect(d.targets).toEqual([
      { type: 'SECRET', name: 'db', namespace: 'shop', hash: 'hash-db', container: 'app' },
      { type: 'SECRET', name: 'api', namespace: 'shop', hash: 'hash-api', container: 'app' },
    ]);
  });

  it('a referencing workload that is not opted in is a consumer with a reason', () => {
    const d = decideTargets(deploymentKind, deployment({}, mounting), [secret('db')], options);
    expect(d).toMatchObject({ consumer: true, targets: [] });
    expect(d.reasons[0]).toMatch(/not opted in/);
  });

  it('a workload whose reload list does not match an unreferenced Secret is not a consumer', () => {
    const d = decideTargets(
      deploymentKind,
      deployment({ 'secret.reloader.stakater.com/reload': 'other' }, { containers: [{ name: 'app' }] }),
      [secret('db')],
      options,
    );
    expect(d.consumer).toBe(false);
  });

  it('a reload-list match without any reference lands on the first container', () => {
    const d = decideTargets(
      deploymentKind,
      deployment(
        { 'secret.reloader.stakater.com/reload': 'db' },
        { containers: [{ name: 'first' }, { name: 'second' }] },
      ),
      [secret('db')],
      options,
    );
    expect(d.targets.map((t) => t.container)).toEqual(['first']);
  });

  it('auto does not concern a workload that does not reference the Secret', () => {
    const d = decideTargets(
      deploymentKind,
      deployment(
        { 'reloader.stakater.com/auto': 'true', 'secret.reloader.stakater.com/reload': 'x' },
        { containers: [{ name: 'app' }] },
      ),
      [secret('db')],
      options,
    );
    expect(d.consumer).toBe(false);
  });

  it('reports an out-of-scope or missing resource as the reason for referencing workloads', () => {
    const missing: ScopedResource = {
      resource: {
        present: false,
        change: { cluster: 'c', kind: 'Secret', namespace: 'shop', name: 'api' },
        type: 'SECRET',
        reason: 'Secret shop/api does not exist',
      },
    };
    const d = decideTargets(
      deploymentKind,
      deployment({ 'reloader.stakater.com/auto': 'true' }, mounting),
      [{ ...secret('db'), outOfScope: 'namespace shop is ignored' }, missing],
      options,
    );
    expect(d.targets).toEqual([]);
    expect(d.reasons).toEqual(['namespace shop is ignored', 'Secret shop/api does not exist']);
  });

  it('a pause-period is honoured by the restart (kinds/deployment.ts), so the decision warns of nothing', () => {
    const d = decideTargets(
      deploymentKind,
      deployment(
        { 'reloader.stakater.com/auto': 'true', 'deployment.reloader.stakater.com/pause-period': '5m' },
        mounting,
      ),
      [secret('db')],
      options,
    );
    expect(d.targets).toHaveLength(1);
    expect(d.warnings).toEqual([]);
  });
});
