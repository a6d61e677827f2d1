/**
 * infra/k8s against the real test API server: every manifest passes a server-side dry run,
 * every rule says why it exists, the restricted `rotor` identity (bound to exactly these
 * manifests by the test environment) holds each granted verb and none of the forbidden ones,
 * and the ServiceAccount example yields a working kubeconfig identity.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import {
  ApiException,
  AppsV1Api,
  AuthorizationV1Api,
  CoreV1Api,
  KubeConfig,
  type KubernetesObject,
  KubernetesObjectApi,
  PatchStrategy,
  RbacAuthorizationV1Api,
  setHeaderOptions,
  type V1ResourceAttributes,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import {
  createNamespace,
  type KubeClusterDescriptor,
  kubeClient,
  testEnv,
  uniqueName,
} from '../../env/index.js';
import { REPO_ROOT } from '../../env/paths.js';

const K8S_DIR = path.join(REPO_ROOT, 'infra', 'k8s');
const FIELD_MANAGER = 'rotor-infra-test';

interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}
type Manifest = KubernetesObject & {
  metadata: { name: string; namespace?: string };
  rules?: Rule[];
  subjects?: { namespace?: string }[];
};

/** What rotor must never be able to do, whatever is added to rbac.yaml later. */
const FORBIDDEN: [string, V1ResourceAttributes][] = [
  ['delete a Deployment', { group: 'apps', resource: 'deployments', verb: 'delete' }],
  ['create a Deployment', { group: 'apps', resource: 'deployments', verb: 'create' }],
  ['replace a Deployment', { group: 'apps', resource: 'deployments', verb: 'update' }],
  ['delete a StatefulSet', { group: 'apps', resource: 'statefulsets', verb: 'delete' }],
  ['delete a DaemonSet', { group: 'apps', resource: 'daemonsets', verb: 'delete' }],
  ['scale a Deployment', { group: 'apps', resource: 'deployments', subresource: 'scale', verb: 'patch' }],
  ['create a Secret', { group: '', resource: 'secrets', verb: 'create' }],
  ['change a Secret', { group: '', resource: 'secrets', verb: 'patch' }],
  ['replace a Secret', { group: '', resource: 'secrets', verb: 'update' }],
  ['delete a Secret', { group: '', resource: 'secrets', verb: 'delete' }],
  ['change a ConfigMap', { group: '', resource: 'configmaps', verb: 'patch' }],
  // No sync operator writes ConfigMaps, so no change rotor acts on is one.
  ['read a ConfigMap', { group: '', resource: 'configmaps', verb: 'get' }],
  ['create a Pod', { group: '', resource: 'pods', verb: 'create' }],
  ['exec into a Pod', { group: '', resource: 'pods', subresource: 'exec', verb: 'create' }],
  ['read Pods', { group: '', resource: 'pods', verb: 'list' }],
  [
    'mint ServiceAccount tokens',
    { group: '', resource: 'serviceaccounts', subresource: 'token', verb: 'create' },
  ],
  ['label a Namespace', { group: '', resource: 'namespaces', verb: 'patch' }],
  ['delete a Namespace', { group: '', resource: 'namespaces', verb: 'delete' }],
  ['read Nodes', { group: '', resource: 'nodes', verb: 'list' }],
  // rotor creates its own Events; it never rewrites or removes anyone's (the operators' included).
  ['change an Event', { group: '', resource: 'events', verb: 'patch' }],
  ['delete an Event', { group: '', resource: 'events', verb: 'delete' }],
  ['patch a CronJob', { group: 'batch', resource: 'cronjobs', verb: 'patch' }],
  ['delete a CronJob', { group: 'batch', resource: 'cronjobs', verb: 'delete' }],
  [
    'change its own ClusterRole',
    { group: 'rbac.authorization.k8s.io', resource: 'clusterroles', verb: 'patch' },
  ],
  [
    'escalate a ClusterRole',
    { group: 'rbac.authorization.k8s.io', resource: 'clusterroles', verb: 'escalate' },
  ],
  ['bind a ClusterRole', { group: 'rbac.authorization.k8s.io', resource: 'clusterroles', verb: 'bind' }],
  [
    'create a ClusterRoleBinding',
    { group: 'rbac.authorization.k8s.io', resource: 'clusterrolebindings', verb: 'create' },
  ],
  ['create a RoleBinding', { group: 'rbac.authorization.k8s.io', resource: 'rolebindings', verb: 'create' }],
  ['impersonate a user', { group: '', resource: 'users', verb: 'impersonate' }],
  ['impersonate a ServiceAccount', { group: '', resource: 'serviceaccounts', verb: 'impersonate' }],
  ['install a CRD', { group: 'apiextensions.k8s.io', resource: 'customresourcedefinitions', verb: 'create' }],
  ['delete an ExternalSecret', { group: 'external-secrets.io', resource: 'externalsecrets', verb: 'delete' }],
  ['create an ExternalSecret', { group: 'external-secrets.io', resource: 'externalsecrets', verb: 'create' }],
  ['change a SecretStore', { group: 'external-secrets.io', resource: 'secretstores', verb: 'patch' }],
  [
    'delete a VaultStaticSecret',
    { group: 'secrets.hashicorp.com', resource: 'vaultstaticsecrets', verb: 'delete' },
  ],
  // Forcing these would issue new credentials / certificates, not re-read a KV secret.
  [
    'force a VaultDynamicSecret',
    { group: 'secrets.hashicorp.com', resource: 'vaultdynamicsecrets', verb: 'patch' },
  ],
  ['force a VaultPKISecret', { group: 'secrets.hashicorp.com', resource: 'vaultpkisecrets', verb: 'patch' }],
  [
    'change a SecretProviderClass',
    { group: 'secrets-store.csi.x-k8s.io', resource: 'secretproviderclasses', verb: 'patch' },
  ],
  ['delete a Rollout', { group: 'argoproj.io', resource: 'rollouts', verb: 'delete' }],
];

let cluster: KubeClusterDescriptor;
let adminKc: KubeConfig;
let rotorKc: KubeConfig;
let namespace: string;
let clusterRole: Manifest;

async function manifests(file: string): Promise<Manifest[]> {
  const text = await readFile(path.join(K8S_DIR, file), 'utf8');
  return parseAllDocuments(text)
    .map((d) => d.toJS() as Manifest | null)
    .filter((o): o is Manifest => o !== null);
}

function kubeConfig(yaml: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromString(yaml);
  return kc;
}

async function statusOf(call: Promise<unknown>): Promise<number> {
  try {
    await call;
    return 200;
  } catch (error) {
    if (error instanceof ApiException) return error.code;
    throw error;
  }
}

async function serverSideDryRun(kc: KubeConfig, obj: Manifest): Promise<number> {
  return statusOf(
    KubernetesObjectApi.makeApiClient(kc).patch(
      obj,
      undefined,
      'All',
      FIELD_MANAGER,
      true,
      PatchStrategy.ServerSideApply,
    ),
  );
}

/** SubjectAccessReview as cluster-admin: may `user` do this? */
async function allowed(
  attrs: V1ResourceAttributes,
  user = 'rotor',
  groups: string[] = ['system:authenticated'],
): Promise<boolean> {
  const review = await adminKc.makeApiClient(AuthorizationV1Api).createSubjectAccessReview({
    body: {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SubjectAccessReview',
      spec: { user, groups, resourceAttributes: attrs },
    },
  });
  return review.status?.allowed === true;
}

/** The example's objects, renamed so parallel runs never collide and the namespace is ours. */
function personalised(objects: Manifest[], ns: string, suffix: string): Manifest[] {
  return objects.map((o) => {
    const copy = structuredClone(o);
    if (copy.kind === 'Namespace') copy.metadata.name = ns;
    else if (copy.metadata.namespace === 'rotor-system') copy.metadata.namespace = ns;
    if (copy.kind === 'ClusterRoleBinding') copy.metadata.name = `${copy.metadata.name}-${suffix}`;
    for (const s of copy.subjects ?? []) if (s.namespace === 'rotor-system') s.namespace = ns;
    return copy;
  });
}

beforeAll(async () => {
  const [first] = testEnv().clusters;
  if (!first) throw new Error('the test environment started no cluster');
  cluster = first;
  adminKc = kubeConfig(cluster.adminKubeconfig);
  rotorKc = kubeConfig(cluster.rotorKubeconfig);
  namespace = await createNamespace(kubeClient(cluster, 'admin'), 'rbac');
  const role = (await manifests('rbac.yaml')).find(
    (o) => o.kind === 'ClusterRole' && o.metadata.name === 'rotor',
  );
  if (!role) throw new Error('infra/k8s/rbac.yaml has no ClusterRole rotor');
  clusterRole = role;
});

afterAll(async () => {
  if (namespace) await kubeClient(cluster, 'admin').core.deleteNamespace({ name: namespace });
});

describe('Kubernetes RBAC manifests (infra/k8s)', () => {
  it('pass a server-side dry run, the binding examples included', async () => {
    const files = [
      'rbac.yaml',
      'examples/bind-aks-entra.yaml',
      'examples/bind-serviceaccount.yaml',
      'namespaced/rbac.yaml',
      'namespaced/cluster-scoped.yaml',
    ];
    const suffix = uniqueName('dry');
    for (const file of files) {
      const objects = personalised(await manifests(file), suffix, suffix);
      // The examples' namespaces are not created by a dry run: their namespaced objects go to ours.
      const placed = objects.map((o) =>
        o.metadata.namespace && o.kind !== 'Namespace' ? { ...o, metadata: { ...o.metadata, namespace } } : o,
      );
      for (const obj of placed) {
        expect(await serverSideDryRun(adminKc, obj), `${file}: ${obj.kind} ${obj.metadata.name}`).toBe(200);
      }
    }
  });

  it('refuse to let rotor apply them itself', async () => {
    expect(await serverSideDryRun(rotorKc, clusterRole)).toBe(403);
  });

  it('say why for every verb of every rule', async () => {
    const lines = (await readFile(path.join(K8S_DIR, 'rbac.yaml'), 'utf8')).split('\n');
    const ruleStarts = lines.flatMap((l, i) => (/^ {2}- apiGroups:/.test(l) ? [i] : []));
    expect(ruleStarts.length).toBe(clusterRole.rules?.length);
    ruleStarts.forEach((start, n) => {
      const comment: string[] = [];
      for (let i = start - 1; i >= 0 && /^\s*#/.test(lines[i] ?? ''); i--) comment.unshift(lines[i] ?? '');
      const rule = clusterRole.rules?.[n] as Rule;
      for (const verb of rule.verbs) {
        expect(
          comment.join('\n'),
          `rule ${n + 1} (${rule.resources.join(',')}): no "why" for ${verb}`,
        ).toMatch(new RegExp(`\\b${verb}\\b`));
      }
    });
  });

  it('grant the rotor identity every verb of the ClusterRole, cluster-wide', async () => {
    const denied: string[] = [];
    for (const rule of clusterRole.rules ?? []) {
      for (const group of rule.apiGroups) {
        for (const resource of rule.resources) {
          for (const verb of rule.verbs) {
            const inNamespace = await allowed({ group, resource, verb, namespace });
            const everywhere = await allowed({ group, resource, verb });
            if (!inNamespace || !everywhere) denied.push(`${verb} ${group || 'core'}/${resource}`);
          }
        }
      }
    }
    expect(denied).toEqual([]);
  });

  it.each(FORBIDDEN)('never let rotor %s', async (_what, attrs) => {
    expect(await allowed({ ...attrs, namespace })).toBe(false);
    expect(await allowed({ ...attrs, namespace: 'kube-system' })).toBe(false);
  });

  it('let rotor restart a Deployment and read its Secret, but not delete either', async () => {
    const admin = kubeClient(cluster, 'admin');
    const rotor = kubeClient(cluster, 'rotor');
    const name = uniqueName('app');
    await admin.core.createNamespacedSecret({
      namespace,
      body: { metadata: { name }, stringData: { password: 'initial' } },
    });
    await admin.apps.createNamespacedDeployment({
      namespace,
      body: {
        metadata: { name },
        spec: {
          selector: { matchLabels: { app: name } },
          template: {
            metadata: { labels: { app: name } },
            spec: { containers: [{ name: 'app', image: 'app:1' }] },
          },
        },
      },
    });
    const patch = { spec: { template: { metadata: { annotations: { 'rotor.test/restarted': 'now' } } } } };
    const strategic = setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch);

    const restarted = await rotor.apps.patchNamespacedDeployment({ namespace, name, body: patch }, strategic);
    const readSecret = await statusOf(rotor.core.readNamespacedSecret({ namespace, name }));
    const deleteDeployment = await statusOf(rotor.apps.deleteNamespacedDeployment({ namespace, name }));
    const deleteSecret = await statusOf(rotor.core.deleteNamespacedSecret({ namespace, name }));
    const writeSecret = await statusOf(
      rotor.core.patchNamespacedSecret(
        { namespace, name, body: { stringData: { password: 'stolen' } } },
        strategic,
      ),
    );

    expect(restarted.spec?.template.metadata?.annotations?.['rotor.test/restarted']).toBe('now');
    expect(readSecret).toBe(200);
    expect([deleteDeployment, deleteSecret, writeSecret]).toEqual([403, 403, 403]);
    const secret = await admin.core.readNamespacedSecret({ namespace, name });
    expect(Buffer.from(secret.data?.password ?? '', 'base64').toString()).toBe('initial');
  });

  it('let a ServiceAccount bound by the example act as rotor through a kubeconfig token', async () => {
    const adminKcApi = KubernetesObjectApi.makeApiClient(adminKc);
    const suffix = uniqueName('sa');
    const example = personalised(await manifests('examples/bind-serviceaccount.yaml'), namespace, suffix);
    const toCreate = example.filter((o) => o.kind === 'ServiceAccount' || o.kind === 'ClusterRoleBinding');
    for (const obj of toCreate) await adminKcApi.create(obj);
    const binding = toCreate.find((o) => o.kind === 'ClusterRoleBinding') as Manifest;
    try {
      const token = await adminKc.makeApiClient(CoreV1Api).createNamespacedServiceAccountToken({
        namespace,
        name: 'rotor',
        body: { spec: { audiences: [], expirationSeconds: 600 } },
      });
      const saKc = kubeConfig(
        cluster.adminKubeconfig.replace(/token: .+/, `token: ${token.status?.token ?? ''}`),
      );
      const apps = saKc.makeApiClient(AppsV1Api);

      const listAll = await statusOf(apps.listDeploymentForAllNamespaces({ limit: 1 }));
      const deleteOne = await statusOf(apps.deleteCollectionNamespacedDeployment({ namespace }));
      const bindings = await statusOf(saKc.makeApiClient(RbacAuthorizationV1Api).listClusterRoleBinding());

      expect(listAll).toBe(200);
      expect(deleteOne).toBe(403);
      expect(bindings).toBe(403);
    } finally {
      await adminKc
        .makeApiClient(RbacAuthorizationV1Api)
        .deleteClusterRoleBinding({ name: binding.metadata.name });
    }
  });

  it('let rotor read a named Secret in any namespace (hashing needs it), kube-system included, without listing them', async () => {
    expect(await allowed({ group: '', resource: 'secrets', verb: 'get', namespace: 'kube-system' })).toBe(
      true,
    );
    expect(await allowed({ group: '', resource: 'secrets', verb: 'get' })).toBe(true);
    expect(await allowed({ group: '', resource: 'secrets', verb: 'list', namespace: 'kube-system' })).toBe(
      false,
    );
    expect(await allowed({ group: '', resource: 'secrets', verb: 'watch' })).toBe(false);
  });
});
