/**
 * Shared set-up for the operator integration tests: fixtures as objects, namespaces,
 * backend writes, and the options rotor is given for the test backends.
 */
import { readFileSync } from 'node:fs';
import type { KubernetesObject } from '@kubernetes/client-node';
import { parse } from 'yaml';
import { KeyVaultConfigSchema } from '../../../lib/config.js';
import type { ClusterClient } from '../../../lib/kube/cluster.js';
import type { ResolveOptions } from '../../../lib/kube/operators/index.js';
import { type EnvDescriptor, keyVaultClientForTest, uniqueName, vaultClient } from '../../env/index.js';

export type Manifest = KubernetesObject & { spec?: Record<string, unknown>; [k: string]: unknown };

/** A manifest from test/fixtures/operators, renamed into the test's namespace. */
export function manifest(file: string, name: string, namespace?: string): Manifest {
  const obj = parse(
    readFileSync(new URL(`../../fixtures/operators/${file}`, import.meta.url), 'utf8'),
  ) as Manifest;
  obj.metadata = { ...obj.metadata, name, ...(namespace ? { namespace } : {}) };
  return obj;
}

export async function create(admin: ClusterClient, obj: Manifest): Promise<void> {
  await admin.objects.create(obj);
}

export async function namespace(
  admin: ClusterClient,
  prefix: string,
  labels: Record<string, string> = {},
): Promise<string> {
  const name = uniqueName(prefix);
  await admin.core.createNamespace({ body: { metadata: { name, labels } } });
  return name;
}

export async function setKeyVaultSecret(env: EnvDescriptor, name: string, value: string): Promise<void> {
  await keyVaultClientForTest(env.lowkey).setSecret(name, value);
}

export async function writeVault(
  env: EnvDescriptor,
  path: string,
  data: Record<string, string>,
): Promise<void> {
  await vaultClient(env).write(`${env.openbao.kvMount}/data/${path}`, { data });
}

/**
 * The server a Vault SecretStore names for the real ESO (test/env/eso.ts), which runs on
 * this machine and reaches OpenBao at its own address (rotor matches it directly).
 */
export function esoVaultServer(env: EnvDescriptor): string {
  if (!env.eso) {
    throw new Error('the real ESO controller is not running: start the environment with { eso: true }');
  }
  return env.openbao.address;
}

/** The in-cluster spelling of the OpenBao address the test objects use. */
export const IN_CLUSTER_VAULT = 'http://openbao.openbao.svc.cluster.local:8200';

export function resolveOptions(env: EnvDescriptor, extra: Partial<ResolveOptions> = {}): ResolveOptions {
  return {
    keyVaultConfigs: [
      KeyVaultConfigSchema.parse({
        name: env.lowkey.vaultName,
        url: env.lowkey.vaultUrl,
        auth: { kind: 'emulator' },
      }),
    ],
    aliases: { [env.openbao.address]: [IN_CLUSTER_VAULT] },
    ...extra,
  };
}

export function decoded(data: Record<string, string> | undefined, key: string): string | undefined {
  const raw = data?.[key];
  return raw === undefined ? undefined : Buffer.from(raw, 'base64').toString('utf8');
}

/** Polls a read until it satisfies `ok` (test set-up only: waiting for a stand-in's first sync). */
export async function eventually<T>(
  read: () => Promise<T>,
  ok: (v: T) => boolean,
  what: string,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      last = await read();
      if (ok(last)) return last;
    } catch (error) {
      lastError = error;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(
    `timed out waiting for ${what}; last: ${JSON.stringify(last)?.slice(0, 500)} ${lastError ?? ''}`,
  );
}

export async function secretValue(
  admin: ClusterClient,
  ns: string,
  name: string,
  key: string,
): Promise<string | undefined> {
  try {
    return decoded((await admin.core.readNamespacedSecret({ namespace: ns, name })).data, key);
  } catch {
    return undefined;
  }
}

export async function tokenSecret(
  admin: ClusterClient,
  ns: string,
  name: string,
  token: string,
): Promise<void> {
  await admin.core.createNamespacedSecret({
    namespace: ns,
    body: { metadata: { name }, stringData: { token } },
  });
}
