import { randomUUID } from 'node:crypto';
import { KubeConfig } from '@kubernetes/client-node';
import NodeVault from 'node-vault';
import { inject } from 'vitest';
import { type ClusterClient, clusterClientFromKubeConfig } from '../../lib/kube/cluster.js';
import type { EnvDescriptor, KubeClusterDescriptor } from './descriptor.js';

/**
 * What integration tests import: the descriptor of the real servers started by the
 * integration project's globalSetup, and a few helpers. Tests share the servers, so
 * every test creates its own namespaces / secret names (uniqueName).
 */
export type { EnvDescriptor, KubeClusterDescriptor } from './descriptor.js';
export { keyVaultClientForTest, staticTokenCredential } from './keyvault-client.js';

declare module 'vitest' {
  export interface ProvidedContext {
    rotorEnv: EnvDescriptor;
  }
}

export function testEnv(): EnvDescriptor {
  return inject('rotorEnv');
}

/** API clients for one test cluster, as cluster-admin (setup) or as the restricted `rotor` user. */
export function kubeClient(cluster: KubeClusterDescriptor, identity: 'admin' | 'rotor'): ClusterClient {
  const kc = new KubeConfig();
  kc.loadFromString(identity === 'admin' ? cluster.adminKubeconfig : cluster.rotorKubeconfig);
  return clusterClientFromKubeConfig(cluster.name, kc);
}

/** `prefix-<10 hex>`: a valid DNS label (Kubernetes names), Key Vault secret name and KV path. */
export function uniqueName(prefix: string): string {
  const base = prefix
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 50);
  return `${base || 'x'}-${randomUUID().replaceAll('-', '').slice(0, 10)}`;
}

/** Creates a uniquely named namespace and returns its name. */
export async function createNamespace(client: ClusterClient, prefix: string): Promise<string> {
  const name = uniqueName(prefix);
  await client.core.createNamespace({ body: { metadata: { name } } });
  return name;
}

/** node-vault client for the test OpenBao, authenticated as root (test setup). */
export function vaultClient(env: EnvDescriptor = testEnv()): NodeVault.client {
  return NodeVault({ endpoint: env.openbao.address, token: env.openbao.rootToken });
}

/**
 * Has the audit relay forward every OpenBao audit entry to `url` (a loopback endpoint the
 * test runs); returns the function that stops it.
 */
export async function registerAuditTarget(
  url: string,
  env: EnvDescriptor = testEnv(),
): Promise<() => Promise<void>> {
  const call = async (method: 'POST' | 'DELETE') => {
    const res = await fetch(`${env.openbao.auditRelayUrl}/targets`, {
      method,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ url }),
    });
    if (!res.ok) throw new Error(`audit relay ${method} /targets: ${res.status} ${await res.text()}`);
  };
  await call('POST');
  return () => call('DELETE');
}
