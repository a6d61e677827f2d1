import type { ClusterClient } from '../cluster.js';
import { podSpecMounts, spcSelects } from './csi-objects.js';
import { apiCode, GVR, kubeError, listAll } from './kube-objects.js';
import type {
  DerivedObject,
  Operator,
  RefreshContext,
  RefreshOutput,
  ResolveContext,
  WorkloadRef,
} from './operator.js';

/**
 * Secrets Store CSI driver: it cannot be forced. New pods mount fresh content, so the
 * refresh is restarting the workloads that mount the class; that is handed to the
 * restart engine as a changed SecretProviderClass.
 */

type Listed = { metadata?: { name?: string }; spec?: unknown };

async function list(action: string, call: () => Promise<{ items: Listed[] }>): Promise<Listed[]> {
  try {
    return (await call()).items;
  } catch (error) {
    if (apiCode(error) === 404) return [];
    throw kubeError(error, action);
  }
}

/** Workloads of a namespace whose pod template mounts the class (for the plan). */
export async function workloadsMounting(
  client: ClusterClient,
  namespace: string,
  className: string,
): Promise<WorkloadRef[]> {
  const [deployments, statefulSets, daemonSets, jobs, cronJobs, rollouts] = await Promise.all([
    list(`list deployments in ${namespace}`, () => client.apps.listNamespacedDeployment({ namespace })),
    list(`list statefulsets in ${namespace}`, () => client.apps.listNamespacedStatefulSet({ namespace })),
    list(`list daemonsets in ${namespace}`, () => client.apps.listNamespacedDaemonSet({ namespace })),
    list(`list jobs in ${namespace}`, () => client.batch.listNamespacedJob({ namespace })),
    list(`list cronjobs in ${namespace}`, () => client.batch.listNamespacedCronJob({ namespace })),
    list(`list rollouts in ${namespace}`, async () => {
      const r = GVR.rollout;
      return (await client.custom.listNamespacedCustomObject({
        group: r.group,
        version: r.version,
        plural: r.plural,
        namespace,
      })) as {
        items: Listed[];
      };
    }),
  ]);
  const template = (o: Listed) => (o.spec as { template?: { spec?: unknown } } | undefined)?.template?.spec;
  const cronTemplate = (o: Listed) =>
    (o.spec as { jobTemplate?: { spec?: { template?: { spec?: unknown } } } } | undefined)?.jobTemplate?.spec
      ?.template?.spec;
  const kinds: Array<[string, Listed[], (o: Listed) => unknown]> = [
    ['Deployment', deployments, template],
    ['StatefulSet', statefulSets, template],
    ['DaemonSet', daemonSets, template],
    ['Job', jobs, template],
    ['CronJob', cronJobs, cronTemplate],
    ['Rollout', rollouts, template],
  ];
  return kinds.flatMap(([kind, items, spec]) =>
    items
      .filter((o) => podSpecMounts(spec(o) as Parameters<typeof podSpecMounts>[0], className))
      .map((o) => ({ kind, namespace, name: o.metadata?.name ?? '' })),
  );
}

async function resolve(client: ClusterClient, ctx: ResolveContext): Promise<DerivedObject[]> {
  const classes = await listAll(client, GVR.secretProviderClass);
  const selected = classes.flatMap((spc) => {
    const spec = (spc.spec ?? {}) as { provider?: string; parameters?: Record<string, string> };
    const sel = spcSelects(spec.provider ?? '', spec.parameters ?? {}, ctx.ref, ctx.matcher);
    return sel.selected ? [{ spc, warnings: sel.warnings }] : [];
  });
  return Promise.all(
    selected.map(async ({ spc, warnings }): Promise<DerivedObject> => {
      const namespace = spc.metadata.namespace ?? '';
      const mountedBy = await workloadsMounting(client, namespace, spc.metadata.name);
      if (mountedBy.length === 0) warnings.push('no workload mounts this SecretProviderClass');
      return {
        cluster: client.name,
        operator: 'csi',
        kind: 'SecretProviderClass',
        namespace,
        name: spc.metadata.name,
        warnings: [
          ...warnings,
          'the CSI driver cannot be forced: restarting the workloads that mount it is the refresh',
        ],
        forceable: true,
        mountedBy,
      };
    }),
  );
}

async function refresh(
  client: ClusterClient,
  d: DerivedObject,
  _ctx: RefreshContext,
): Promise<RefreshOutput> {
  return {
    result: [
      {
        status: 'restart-only',
        cluster: d.cluster,
        operator: 'csi',
        kind: d.kind,
        namespace: d.namespace,
        name: d.name,
        reason:
          'the Secrets Store CSI driver has no forced refresh; restarting the workloads that mount the class is the refresh',
      },
    ],
    changed: [{ cluster: client.name, kind: 'SecretProviderClass', namespace: d.namespace, name: d.name }],
  };
}

export const csiOperator: Operator = { id: 'csi', resolve, refresh };
