import { describe, expect, it } from 'vitest';
import { decideTargets } from '../../../../lib/kube/restart/decide.js';
import { deploymentKind } from '../../../../lib/kube/restart/kinds/deployment.js';
import { slimPodTemplateWorkload } from '../../../../lib/kube/restart/kinds/slim.js';
import { envVarsPatch } from '../../../../lib/kube/restart/strategies/env-vars.js';

const full = {
  metadata: {
    name: 'web',
    namespace: 'shop',
    uid: 'u1',
    resourceVersion: '42',
    generation: 3,
    labels: { app: 'web' },
    annotations: {
      'reloader.stakater.com/auto': 'true',
      'kubectl.kubernetes.io/last-applied-configuration': 'x'.repeat(5000),
    },
  },
  spec: {
    replicas: 3,
    paused: false,
    template: {
      metadata: {
        labels: { app: 'web' },
        annotations: { 'prometheus.io/scrape': 'true', 'rotor.dev/reloaded-hashes': '{}' },
      },
      spec: {
        containers: [
          {
            name: 'app',
            image: 'app:1',
            command: ['serve'],
            env: [
              { name: 'PLAIN', value: 'x' },
              { name: 'STAKATER_DB_SECRET', value: 'old' },
              { name: 'PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } },
            ],
            envFrom: [{ configMapRef: { name: 'cfg' } }],
            volumeMounts: [{ name: 'tls', mountPath: '/tls' }],
            resources: { limits: { cpu: '1' } },
          },
        ],
        initContainers: [{ name: 'init', image: 'init:1', volumeMounts: [{ name: 'kv', mountPath: '/kv' }] }],
        volumes: [
          { name: 'tls', secret: { secretName: 'tls', defaultMode: 420 } },
          {
            name: 'kv',
            csi: { driver: 'secrets-store.csi.k8s.io', volumeAttributes: { secretProviderClass: 'kv' } },
          },
          { name: 'scratch', emptyDir: {} },
        ],
      },
    },
  },
};

const secret = (name: string, type: 'SECRET' | 'CONFIGMAP' | 'SECRETPROVIDERCLASS' = 'SECRET') => ({
  resource: {
    present: true as const,
    change: { cluster: 'c', kind: 'Secret' as const, namespace: 'shop', name },
    type,
    hash: 'new',
    annotations: {},
    labels: {},
  },
});

describe('slimPodTemplateWorkload', () => {
  const slim = slimPodTemplateWorkload(full);
  const options = { autoReloadAll: false, ignoredWorkloadTypes: [] };

  it('keeps identity, the resourceVersion and only Reloader/rotor annotations', () => {
    expect(slim.metadata).toEqual({
      name: 'web',
      namespace: 'shop',
      uid: 'u1',
      resourceVersion: '42',
      generation: 3,
      annotations: { 'reloader.stakater.com/auto': 'true' },
    });
    expect(slim.spec.template.metadata.annotations).toEqual({ 'rotor.dev/reloaded-hashes': '{}' });
    expect(JSON.stringify(slim).length).toBeLessThan(JSON.stringify(full).length / 5);
  });

  it('leads to the same decisions and patches as the full object', () => {
    const inputs = [
      secret('db'),
      secret('tls'),
      { ...secret('cfg', 'CONFIGMAP') },
      secret('kv', 'SECRETPROVIDERCLASS'),
    ];
    const fromFull = decideTargets(deploymentKind, full, inputs, options);
    const fromSlim = decideTargets(deploymentKind, slim, inputs, options);
    expect(fromSlim).toEqual(fromFull);
    expect(fromFull.targets.map((t) => [t.name, t.container])).toEqual([
      ['db', 'app'],
      ['tls', 'app'],
      ['cfg', 'app'],
      ['kv', 'app'],
    ]);
    expect(envVarsPatch(slim.spec.template, fromSlim.targets)).toEqual(
      envVarsPatch(full.spec.template, fromFull.targets),
    );
  });
});
