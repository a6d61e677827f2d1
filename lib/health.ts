import type { HealthReport } from './app-types.js';
import type { BackendRegistry } from './backends/registry.js';
import type { ClusterSource } from './cluster-ports.js';
import { describeError } from './errors.js';
import { probeCluster } from './kube/fanout.js';
import type { Tables } from './state/tables.js';

/**
 * GET /api/health: every backend, cluster and the state store, each timed, none throwing;
 * `gaps` (lib/config/check.ts) make it unhealthy: a rotor with nothing to watch is not "ok".
 */
export async function healthOf(
  backends: BackendRegistry,
  clusters: ClusterSource,
  tables: Tables | undefined,
  gaps: readonly string[] = [],
): Promise<HealthReport> {
  const timed = async (
    name: string,
    kind: HealthReport['checks'][number]['kind'],
    fn: () => Promise<unknown>,
  ) => {
    const start = performance.now();
    try {
      await fn();
      return { name, kind, ok: true, ms: Math.round(performance.now() - start) };
    } catch (error) {
      return {
        name,
        kind,
        ok: false,
        ms: Math.round(performance.now() - start),
        error: describeError(error).message,
      };
    }
  };
  const [backendChecks, clusterChecks, stateChecks] = await Promise.all([
    backends.health(),
    Promise.all(
      clusters
        .names()
        .map((name) => timed(name, 'cluster', async () => probeCluster(await clusters.get(name), 5_000))),
    ),
    tables
      ? Promise.all([timed('table-storage', 'state', () => tables.get('idempotency'))])
      : Promise.resolve([]),
  ]);
  const checks: HealthReport['checks'] = [
    ...backendChecks.map((b) => ({
      name: b.name,
      kind: b.kind === 'vault' ? ('vault' as const) : ('keyvault' as const),
      ok: b.ok,
      ms: Math.round(b.ms),
      ...(b.error ? { error: b.error } : {}),
    })),
    ...clusterChecks,
    ...stateChecks,
    ...gaps.map((gap) => ({ name: 'configuration', kind: 'config' as const, ok: false, ms: 0, error: gap })),
  ];
  return { ok: checks.every((c) => c.ok), checks };
}
