import { kubeError, statusOf } from '../api/errors.js';
import type { ClusterClient } from '../cluster.js';
import { reloaderHash } from '../restart/hash.js';

/** A Secret's data as the API returns it (base64 values); only compared, never logged. */
export type SecretData = Readonly<Record<string, string>> | null;

export async function readSecretData(
  client: ClusterClient,
  namespace: string,
  name: string,
): Promise<SecretData> {
  try {
    const secret = await client.core.readNamespacedSecret({ namespace, name });
    return secret.data ?? {};
  } catch (error) {
    if (statusOf(error) === 404) return null;
    throw kubeError(error, `get secret ${namespace}/${name}`);
  }
}

/** A Secret's content as Reloader hashes it; null when it does not exist. Compared, never logged. */
export type SecretHash = string | null;

export function secretHash(data: SecretData): SecretHash {
  return data === null ? null : reloaderHash({ kind: 'Secret', data });
}

export function sameData(a: SecretData, b: SecretData): boolean {
  if (a === null || b === null) return a === b;
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((k) => Object.hasOwn(b, k) && a[k] === b[k]);
}
