import { beforeAll, describe, expect, it } from 'vitest';
import { httpStatusOf, isRetryableError, RotorError } from '../../../lib/errors.js';
import { annotate, getObject } from '../../../lib/kube/api/custom-objects.js';
import { GVR } from '../../../lib/kube/api/gvr.js';
import type { ClusterClient } from '../../../lib/kube/cluster.js';
import { kubeClient, testEnv } from '../../env/index.js';
import { create, manifest, namespace } from '../operators/support.js';

/**
 * The retry policy of the one Kubernetes access layer, against the real API server: what
 * the server will refuse again on every redelivery must not be answered with a 503, or
 * Event Grid delivers the same event for 24 hours.
 */
const env = testEnv();
const cluster = env.clusters[0]!;
let admin: ClusterClient;
let rotor: ClusterClient;
let ns: string;

beforeAll(async () => {
  admin = kubeClient(cluster, 'admin');
  rotor = kubeClient(cluster, 'rotor');
  ns = await namespace(admin, 'kube-api');
  await create(admin, manifest('secretstore-vault.yaml', 'store', ns));
  await create(admin, manifest('externalsecret-data.yaml', 'db', ns));
});

describe('the Kubernetes access layer', () => {
  it('does not ask for a redelivery when the API server rejects a patch as invalid (422)', async () => {
    const error = await annotate(
      rotor,
      GVR.externalSecret,
      ns,
      'db',
      { 'not a valid key!': 'x' },
      'rotor',
    ).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(RotorError);
    const e = error as RotorError;
    expect(e.details.status).toBe(422);
    expect(e.message).toMatch(
      /^patch externalsecrets\.external-secrets\.io .*\/db: HTTP 422 .*not a valid key!/,
    );
    expect(e.retryable).toBe(false);
    expect(isRetryableError(e)).toBe(false);
    expect(httpStatusOf(e)).not.toBe(503);
  });

  it('does not ask for a redelivery when the object is gone (404)', async () => {
    const error = await getObject(rotor, GVR.externalSecret, ns, 'missing').catch((e: unknown) => e);
    expect((error as RotorError).code).toBe('not_found');
    expect(isRetryableError(error)).toBe(false);
  });

  it('asks for a redelivery when the API server cannot be reached', async () => {
    const unreachable = kubeClient(
      {
        ...cluster,
        rotorKubeconfig: cluster.rotorKubeconfig.replace(/server: .*/, 'server: https://127.0.0.1:1'),
      },
      'rotor',
    );
    const error = await getObject(unreachable, GVR.externalSecret, ns, 'db').catch((e: unknown) => e);
    expect(isRetryableError(error)).toBe(true);
    expect(httpStatusOf(error)).toBe(503);
  });
});
