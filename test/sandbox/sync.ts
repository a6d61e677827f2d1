import type { ClusterClient } from '../../lib/kube/cluster.js';
import { kubeClient } from '../env/index.js';
import type { SampleApp } from './sample-app.js';
import type { Sandbox } from './sandbox.js';

/** Waits (bounded) until the stand-ins have created the sample's Secrets in every cluster. */
export async function waitForInitialSync(
  sandbox: Sandbox,
  app: SampleApp,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const cluster of sandbox.env.clusters) {
    const admin = kubeClient(cluster, 'admin');
    for (const name of ['db-credentials', 'api-key']) {
      while (!(await exists(admin, app.namespace, name))) {
        if (Date.now() > deadline)
          throw new Error(`${cluster.name}: Secret ${app.namespace}/${name} was never synced`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }
}

async function exists(admin: ClusterClient, namespace: string, name: string): Promise<boolean> {
  try {
    await admin.core.readNamespacedSecret({ namespace, name });
    return true;
  } catch {
    return false;
  }
}
