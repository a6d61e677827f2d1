import { AuthenticationV1Api } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { createNamespace, kubeClient, testEnv, uniqueName } from '../../env/index.js';

describe('test environment helpers', () => {
  it('provides two clusters, alpha and beta, each on its own loopback port', () => {
    const clusters = testEnv().clusters;

    expect(clusters.map((c) => c.name)).toEqual(['alpha', 'beta']);
    expect(new Set(clusters.map((c) => c.server)).size).toBe(2);
    for (const c of clusters) expect(new URL(c.server).hostname).toBe('127.0.0.1');
  });

  it('kubeClient authenticates as cluster-admin or as the restricted rotor user', async () => {
    const [alpha] = testEnv().clusters;
    const whoami = async (identity: 'admin' | 'rotor') => {
      const auth = kubeClient(alpha!, identity).kc.makeApiClient(AuthenticationV1Api);
      const review = await auth.createSelfSubjectReview({
        body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' },
      });
      return review.status?.userInfo?.username;
    };

    expect(await whoami('admin')).toBe('admin');
    expect(await whoami('rotor')).toBe('rotor');
  });

  it('createNamespace makes a fresh namespace per call, in the cluster asked for', async () => {
    const [alpha, beta] = testEnv().clusters;
    const admin = kubeClient(alpha!, 'admin');

    const first = await createNamespace(admin, 'env-helpers');
    const second = await createNamespace(admin, 'env-helpers');

    expect(first).not.toBe(second);
    expect((await admin.core.readNamespace({ name: first })).metadata?.name).toBe(first);
    await expect(kubeClient(beta!, 'admin').core.readNamespace({ name: first })).rejects.toMatchObject({
      code: 404,
    });
  });

  it('uniqueName yields DNS-label-safe names that do not repeat', () => {
    const names = new Set(Array.from({ length: 200 }, () => uniqueName('My_Prefix.Name')));

    expect(names.size).toBe(200);
    for (const n of names) expect(n).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
  });
});
