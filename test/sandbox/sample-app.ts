import { readFileSync } from 'node:fs';
import type { KubernetesObject } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import type { ClusterClient } from '../../lib/kube/cluster.js';
import type { EnvDescriptor } from '../env/descriptor.js';
import { kubeClient } from '../env/index.js';
import { keyVaultClientForTest } from '../env/keyvault-client.js';
import { IN_CLUSTER_VAULT } from './config.js';
import type { Sandbox } from './sandbox.js';
import { writeOpenBao } from './scenarios.js';
import { waitForInitialSync } from './sync.js';

export interface SampleApp {
  namespace: string;
  /** Key Vault secret synced by the ExternalSecret db-credentials. */
  kvSecret: string;
  /** Key Vault secret mounted through the SecretProviderClass tls. */
  csiSecret: string;
  /** OpenBao KV v2 mount and path synced by the VaultStaticSecret api-key. */
  vaultMount: string;
  vaultPath: string;
  /** VSO refreshAfter of the sample (the poll baseline). */
  vsoRefreshAfter: string;
}

/** Creates the namespace and every object of test/fixtures/sandbox/sample-app.yaml, as the admin would. */
export async function deploySampleApp(
  admin: ClusterClient,
  env: EnvDescriptor,
  app: SampleApp,
): Promise<void> {
  const template = readFileSync(new URL('../fixtures/sandbox/sample-app.yaml', import.meta.url), 'utf8');
  const values: Record<string, string> = {
    vaultUrl: env.lowkey.vaultUrl,
    vaultName: env.lowkey.vaultName,
    kvSecret: app.kvSecret,
    csiSecret: app.csiSecret,
    vaultMount: app.vaultMount,
    vaultPath: app.vaultPath,
    inClusterVault: IN_CLUSTER_VAULT,
    vsoRefreshAfter: app.vsoRefreshAfter,
  };
  const text = template.replace(/\$\{(\w+)\}/g, (_m, key: string) => {
    const v = values[key];
    if (v === undefined) throw new Error(`sample-app.yaml: no value for \${${key}}`);
    return v;
  });
  await admin.core.createNamespace({ body: { metadata: { name: app.namespace } } });
  for (const doc of parseAllDocuments(text)) {
    const obj = doc.toJS() as KubernetesObject;
    obj.metadata = { ...obj.metadata, namespace: app.namespace };
    await admin.objects.create(obj);
  }
}

/**
 * Seeds the backends with the sample's secrets, deploys the sample in every cluster of the
 * sandbox and waits until the operator stand-ins have synced it.
 */
export async function seedAndDeploy(
  sandbox: Sandbox,
  app: SampleApp,
  values: { kv: string; csi?: string; vault: string },
): Promise<void> {
  const { env } = sandbox;
  const kv = keyVaultClientForTest(env.lowkey);
  await kv.setSecret(app.kvSecret, values.kv);
  if (app.csiSecret !== app.kvSecret) await kv.setSecret(app.csiSecret, values.csi ?? values.kv);
  await writeOpenBao(env, app.vaultMount, app.vaultPath, { API_KEY: values.vault });
  for (const cluster of env.clusters) await deploySampleApp(kubeClient(cluster, 'admin'), env, app);
  await waitForInitialSync(sandbox, app);
}
