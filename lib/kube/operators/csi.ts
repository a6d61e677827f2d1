import { listAll } from '../api/custom-objects.js';
import { GVR } from '../api/gvr.js';
import type { ChangedResource } from '../changed-resource.js';
import type { ClusterClient } from '../cluster.js';
import { WORKLOAD_KINDS } from '../restart/kinds/index.js';
import { podSpecMounts, spcSelects } from './csi-objects.js';
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

/**
 * Workloads of a namespace whose pod template mounts the class, of every kind rotor
 * restarts, by listing them: for one-off resolves outside the app, which asks its consumer
 * index instead (ResolveContext.mountedBy).
 */
export async function workloadsMounting(
  client: ClusterClient,
  namespace: string,
  className: string,
): Promise<WorkloadRef[]> {
  const listed = await Promise.all(
    WORKLOAD_KINDS.map(async (kind) => ({ kind, items: await listAll(client, kind.gvr, namespace) })),
  );
  return listed.flatMap(({ kind, items }) =>
    items
      .filter((o) => podSpecMounts(kind.template(o)?.spec, className))
      .map((o) => ({ kind: kind.kind, namespace, name: o.metadata?.name ?? '' })),
  );
}

async function resolve(client: ClusterClient, ctx: ResolveContext): Promise<DerivedObject[]> {
  const classes = await ctx.objects.list(GVR.secretProviderClass);
  const selected = classes.items.flatMap((spc) => {
    const spec = (spc.spec ?? {}) as { provider?: string; parameters?: Record<string, string> };
    const sel = spcSelects(spec.provider ?? '', spec.parameters ?? {}, ctx.matcher);
    return sel.selected ? [{ spc, warnings: sel.warnings }] : [];
  });
  return Promise.all(
    selected.map(async ({ spc, warnings }): Promise<DerivedObject> => {
      const namespace = spc.metadata?.namespace ?? '';
      const mountedBy = await ctx.mountedBy(namespace, spc.metadata?.name ?? '');
      if (mountedBy.length === 0) warnings.push('no workload mounts this SecretProviderClass');
      return {
        cluster: client.name,
        operator: 'csi',
        kind: 'SecretProviderClass',
        namespace,
        name: spc.metadata?.name ?? '',
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
  _client: ClusterClient,
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
  };
}

/** The class itself: the restart engine restarts the workloads that mount it, which is its refresh. */
function affects(d: DerivedObject): ChangedResource[] {
  return [{ cluster: d.cluster, kind: 'SecretProviderClass', namespace: d.namespace, name: d.name }];
}

export const csiOperator: Operator = {
  id: 'csi',
  reads: [GVR.secretProviderClass],
  resolve,
  refresh,
  affects,
};
