import type { Plan } from './app-types.js';
import { describeError } from './errors.js';
import type { ChangedResource } from './kube/changed-resource.js';
import type { ClusterRegistry } from './kube/cluster.js';
import { resolveDerived } from './kube/operators/index.js';
import type { RestartEngine } from './kube/restart/index.js';
import { refKey, type SecretRef } from './secret-ref.js';

/**
 * `rotor plan`: what would refresh and restart for a secret, per cluster, through the same
 * resolve and restart code as a real run, with nothing written.
 */
export async function planFor(
  ref: SecretRef,
  clusters: ClusterRegistry,
  engineFor: (cluster: string) => Promise<RestartEngine>,
  resolveOptionsFor: (cluster: string) => Parameters<typeof resolveDerived>[2],
): Promise<Plan> {
  const perCluster = await Promise.all(
    clusters.names().map(async (cluster): Promise<Plan['clusters'][number]> => {
      try {
        const client = await clusters.get(cluster);
        const derived = await resolveDerived(client, ref, resolveOptionsFor(cluster));
        const changed: ChangedResource[] = derived.flatMap((d): ChangedResource[] => {
          if (d.operator === 'csi')
            return [{ cluster, kind: 'SecretProviderClass', namespace: d.namespace, name: d.name }];
          return d.targetSecret
            ? [{ cluster, kind: 'Secret', namespace: d.namespace, name: d.targetSecret }]
            : [];
        });
        const workloads = changed.length > 0 ? await (await engineFor(cluster)).plan(changed) : [];
        return {
          cluster,
          derived: derived.map((d) => ({
            operator: d.operator,
            kind: d.kind,
            namespace: d.namespace,
            name: d.name,
            ...(d.targetSecret ? { targetSecret: d.targetSecret } : {}),
            warnings: d.forceable ? d.warnings : [...d.warnings, `cannot be forced: ${d.fix ?? ''}`],
          })),
          workloads: workloads.map((w) => ({
            kind: w.kind,
            namespace: w.namespace,
            name: w.name,
            action: w.status === 'restarted' ? 'restart' : w.status,
            ...('reason' in w ? { reason: w.reason } : 'error' in w ? { reason: w.error } : {}),
          })),
        };
      } catch (error) {
        return { cluster, error: describeError(error).message, derived: [], workloads: [] };
      }
    }),
  );
  return { ref: refKey(ref), clusters: perCluster };
}
