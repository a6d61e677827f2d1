import type { Plan } from './app-types.js';
import { describeError } from './errors.js';
import type { ChangedResource } from './kube/changed-resource.js';
import { affectedBy, type DerivedObject } from './kube/operators/index.js';
import type { WorkloadResult } from './outcome.js';
import { refKey, type SecretRef } from './secret-ref.js';

/** The cluster side `rotor plan` reads through: the pipeline's resolve and the restart engine's plan. */
export interface PlanPorts {
  clusters(): string[];
  resolve(cluster: string, ref: SecretRef): Promise<DerivedObject[]>;
  planRestarts(cluster: string, changed: ChangedResource[]): Promise<WorkloadResult[]>;
}

/**
 * `rotor plan`: what would refresh and restart for a secret, per cluster, through the same
 * resolve and restart code as a real run, with nothing written.
 */
export async function planFor(ref: SecretRef, ports: PlanPorts): Promise<Plan> {
  const perCluster = await Promise.all(
    ports.clusters().map(async (cluster): Promise<Plan['clusters'][number]> => {
      try {
        const derived = await ports.resolve(cluster, ref);
        const changed = derived.flatMap((d) => affectedBy(d));
        const workloads = changed.length > 0 ? await ports.planRestarts(cluster, changed) : [];
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
            ...('reason' in w ? { reason: w.reason } : {}),
            ...('error' in w ? { error: w.error } : {}),
          })),
        };
      } catch (error) {
        return { cluster, error: describeError(error), derived: [], workloads: [] };
      }
    }),
  );
  return { ref: refKey(ref), clusters: perCluster };
}
