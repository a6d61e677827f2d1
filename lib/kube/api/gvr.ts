/** Group/version/resource of every resource rotor lists, watches or patches by path, defined once. */
export interface Gvr {
  group: string;
  version: string;
  plural: string;
  kind: string;
  namespaced: boolean;
}

const APPS = { group: 'apps', version: 'v1', namespaced: true } as const;
const BATCH = { group: 'batch', version: 'v1', namespaced: true } as const;
const ESO = { group: 'external-secrets.io', version: 'v1' } as const;
const VSO = { group: 'secrets.hashicorp.com', version: 'v1beta1' } as const;

export const GVR = {
  externalSecret: { ...ESO, plural: 'externalsecrets', kind: 'ExternalSecret', namespaced: true },
  clusterExternalSecret: {
    ...ESO,
    plural: 'clusterexternalsecrets',
    kind: 'ClusterExternalSecret',
    namespaced: false,
  },
  secretStore: { ...ESO, plural: 'secretstores', kind: 'SecretStore', namespaced: true },
  clusterSecretStore: {
    ...ESO,
    plural: 'clustersecretstores',
    kind: 'ClusterSecretStore',
    namespaced: false,
  },
  vaultStaticSecret: { ...VSO, plural: 'vaultstaticsecrets', kind: 'VaultStaticSecret', namespaced: true },
  vaultAuth: { ...VSO, plural: 'vaultauths', kind: 'VaultAuth', namespaced: true },
  vaultConnection: { ...VSO, plural: 'vaultconnections', kind: 'VaultConnection', namespaced: true },
  secretProviderClass: {
    group: 'secrets-store.csi.x-k8s.io',
    version: 'v1',
    plural: 'secretproviderclasses',
    kind: 'SecretProviderClass',
    namespaced: true,
  },
  deployment: { ...APPS, plural: 'deployments', kind: 'Deployment' },
  statefulSet: { ...APPS, plural: 'statefulsets', kind: 'StatefulSet' },
  daemonSet: { ...APPS, plural: 'daemonsets', kind: 'DaemonSet' },
  job: { ...BATCH, plural: 'jobs', kind: 'Job' },
  cronJob: { ...BATCH, plural: 'cronjobs', kind: 'CronJob' },
  rollout: {
    group: 'argoproj.io',
    version: 'v1alpha1',
    plural: 'rollouts',
    kind: 'Rollout',
    namespaced: true,
  },
} as const satisfies Record<string, Gvr>;

/** The collection a list or watch reads: one namespace's, or the whole cluster's without one. */
export function collectionPath(gvr: Gvr, namespace?: string): string {
  const ns = gvr.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  return `/apis/${gvr.group}/${gvr.version}${ns}/${gvr.plural}`;
}
