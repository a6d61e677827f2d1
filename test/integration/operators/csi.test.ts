import { beforeAll, describe, expect, it } from 'vitest';
import type { ClusterClient } from '../../../lib/kube/cluster.js';
import { refreshDerived, resolveDerived } from '../../../lib/kube/operators/index.js';
import { SecretRefSchema } from '../../../lib/secret-ref.js';
import { kubeClient, testEnv, uniqueName } from '../../env/index.js';
import { create, manifest, namespace, resolveOptions } from './support.js';

const env = testEnv();
const cluster = env.clusters[0]!;
let admin: ClusterClient;
let rotor: ClusterClient;
let ns: string;

beforeAll(async () => {
  admin = kubeClient(cluster, 'admin');
  rotor = kubeClient(cluster, 'rotor');
  ns = await namespace(admin, 'csi');
});

function azureClass(name: string, secret: string) {
  const spc = manifest('spc-azure.yaml', name, ns);
  const parameters = (spc.spec as { parameters: Record<string, string> }).parameters;
  parameters.keyvaultName = env.lowkey.vaultName;
  parameters.objects = parameters.objects!.replace('objectName: db-password', `objectName: ${secret}`);
  return spc;
}

function mountingDeployment(name: string, className: string) {
  const deployment = manifest('deployment-csi.yaml', name, ns);
  const spec = deployment.spec as {
    template: { spec: { volumes: Array<{ csi: { volumeAttributes: Record<string, string> } }> } };
  };
  spec.template.spec.volumes[0]!.csi.volumeAttributes.secretProviderClass = className;
  return deployment;
}

describe('Secrets Store CSI', () => {
  it('resolves the SecretProviderClass naming the Key Vault object, with the workloads that mount it', async () => {
    const secret = uniqueName('kv-csi');
    const className = uniqueName('spc');
    await create(admin, azureClass(className, secret));
    await create(admin, mountingDeployment('web', className));
    await create(admin, mountingDeployment('unrelated', uniqueName('other-spc')));

    const ref = SecretRefSchema.parse({
      backend: 'azure-keyvault',
      vault: env.lowkey.vaultName,
      name: secret,
    });
    const derived = await resolveDerived(rotor, ref, resolveOptions(env));

    expect(derived).toEqual([
      expect.objectContaining({
        operator: 'csi',
        kind: 'SecretProviderClass',
        namespace: ns,
        name: className,
        forceable: true,
        mountedBy: [{ kind: 'Deployment', namespace: ns, name: 'web' }],
      }),
    ]);
  });

  it('hands the class to the restart engine instead of forcing anything', async () => {
    const path = `apps/${uniqueName('csi')}`;
    const className = uniqueName('spc-vault');
    const spc = manifest('spc-vault.yaml', className, ns);
    const parameters = (spc.spec as { parameters: Record<string, string> }).parameters;
    parameters.vaultAddress = env.openbao.address;
    parameters.objects = parameters.objects!.replace(
      'secret/data/apps/web',
      `${env.openbao.kvMount}/data/${path}`,
    );
    await create(admin, spc);
    const ref = SecretRefSchema.parse({
      backend: 'vault',
      address: env.openbao.address,
      mount: env.openbao.kvMount,
      path,
    });

    const derived = await resolveDerived(rotor, ref, resolveOptions(env));
    const { results, changed } = await refreshDerived(rotor, derived, { timeoutMs: 5_000 });

    expect(derived.map((d) => d.name)).toEqual([className]);
    expect(derived[0]?.warnings).toContain('no workload mounts this SecretProviderClass');
    expect(results).toEqual([
      expect.objectContaining({ status: 'restart-only', operator: 'csi', name: className }),
    ]);
    expect(changed).toEqual([
      { cluster: cluster.name, kind: 'SecretProviderClass', namespace: ns, name: className },
    ]);
  });
});
