import { describe, expect, it } from 'vitest';
import {
  containerFor,
  type PodSpecLike,
  referencedResources,
} from '../../../../lib/kube/restart/references.js';

const secretVolume = { name: 'creds', secret: { secretName: 'db' } };

describe('containerFor (Reloader getContainerUsingResource)', () => {
  const cases: Array<{
    name: string;
    spec: PodSpecLike;
    type?: 'SECRET' | 'CONFIGMAP' | 'SECRETPROVIDERCLASS';
    auto: boolean;
    expected: string | undefined;
  }> = [
    {
      name: 'the container that mounts the Secret volume',
      spec: {
        containers: [{ name: 'side' }, { name: 'app', volumeMounts: [{ name: 'creds' }] }],
        volumes: [secretVolume],
      },
      auto: true,
      expected: 'app',
    },
    {
      name: 'a projected Secret source counts as a mount',
      spec: {
        containers: [{ name: 'app', volumeMounts: [{ name: 'all' }] }],
        volumes: [
          { name: 'all', projected: { sources: [{ configMap: { name: 'x' } }, { secret: { name: 'db' } }] } },
        ],
      },
      auto: true,
      expected: 'app',
    },
    {
      name: 'mounted only by an init container: the first regular container',
      spec: {
        containers: [{ name: 'main' }, { name: 'side' }],
        initContainers: [{ name: 'init', volumeMounts: [{ name: 'creds' }] }],
        volumes: [secretVolume],
      },
      auto: true,
      expected: 'main',
    },
    {
      name: 'init container only and no regular container: nothing',
      spec: {
        containers: [],
        initContainers: [{ name: 'init', volumeMounts: [{ name: 'creds' }] }],
        volumes: [secretVolume],
      },
      auto: false,
      expected: undefined,
    },
    {
      name: 'env valueFrom.secretKeyRef',
      spec: {
        containers: [
          { name: 'a' },
          { name: 'b', env: [{ name: 'P', valueFrom: { secretKeyRef: { name: 'db' } } }] },
        ],
      },
      auto: true,
      expected: 'b',
    },
    {
      name: 'envFrom.secretRef',
      spec: { containers: [{ name: 'a', envFrom: [{ secretRef: { name: 'db' } }] }] },
      auto: true,
      expected: 'a',
    },
    {
      name: 'envFrom in an init container: the first regular container',
      spec: {
        containers: [{ name: 'main' }],
        initContainers: [{ name: 'init', envFrom: [{ secretRef: { name: 'db' } }] }],
      },
      auto: true,
      expected: 'main',
    },
    {
      name: 'a volume defined but mounted nowhere falls through to env references',
      spec: {
        containers: [{ name: 'a' }, { name: 'b', envFrom: [{ secretRef: { name: 'db' } }] }],
        volumes: [secretVolume],
      },
      auto: true,
      expected: 'b',
    },
    {
      name: 'a named reload match without any reference: the first container',
      spec: { containers: [{ name: 'first' }, { name: 'second' }] },
      auto: false,
      expected: 'first',
    },
    {
      name: 'auto without any reference: nothing',
      spec: { containers: [{ name: 'app' }] },
      auto: true,
      expected: undefined,
    },
    {
      name: 'a ConfigMap reference does not count for a Secret of the same name',
      spec: { containers: [{ name: 'a', envFrom: [{ configMapRef: { name: 'db' } }] }] },
      auto: true,
      expected: undefined,
    },
    {
      name: 'a CSI volume with volumeAttributes.secretProviderClass',
      spec: {
        containers: [{ name: 'app', volumeMounts: [{ name: 'kv' }] }],
        volumes: [{ name: 'kv', csi: { volumeAttributes: { secretProviderClass: 'db' } } }],
      },
      type: 'SECRETPROVIDERCLASS',
      auto: true,
      expected: 'app',
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      expect(containerFor(c.spec, c.type ?? 'SECRET', 'db', c.auto)).toBe(c.expected);
    });
  }
});

describe('referencedResources', () => {
  it('collects volumes, projected sources, CSI classes, env and envFrom of containers and init containers', () => {
    const refs = referencedResources({
      containers: [
        {
          name: 'app',
          env: [
            { name: 'A', valueFrom: { secretKeyRef: { name: 's-env' } } },
            { name: 'B', valueFrom: { configMapKeyRef: { name: 'c-env' } } },
            { name: 'C', value: 'plain' },
          ],
          envFrom: [{ secretRef: { name: 's-from' } }, { configMapRef: { name: 'c-from' } }],
        },
      ],
      initContainers: [{ name: 'init', envFrom: [{ secretRef: { name: 's-init' } }] }],
      volumes: [
        { name: 'v1', secret: { secretName: 's-vol' } },
        { name: 'v2', configMap: { name: 'c-vol' } },
        {
          name: 'v3',
          projected: { sources: [{ secret: { name: 's-proj' } }, { configMap: { name: 'c-proj' } }] },
        },
        { name: 'v4', csi: { volumeAttributes: { secretProviderClass: 'spc' } } },
        { name: 'v5', csi: { volumeAttributes: {} } },
      ],
    });
    expect([...refs.SECRET].sort()).toEqual(['s-env', 's-from', 's-init', 's-proj', 's-vol']);
    expect([...refs.CONFIGMAP].sort()).toEqual(['c-env', 'c-from', 'c-proj', 'c-vol']);
    expect([...refs.SECRETPROVIDERCLASS]).toEqual(['spc']);
  });
});
