/**
 * How the ESO stand-in (a test double) reads provider data, following ESO's documented
 * provider behaviour for `azurekv` and `vault`: remoteRef.key/property/version,
 * dataFrom.extract (every JSON field) and dataFrom.find (name regexp, tags, path).
 * Written independently of rotor's matcher so the tests compare two readings of the contract.
 */
import type { SecretClient } from '@azure/keyvault-secrets';
import { backendMessage, type VaultAccess, type VaultClient, vaultClient } from './standin-backends.js';
import { isNotFound, type StandinKube } from './standin-kube.js';

export interface RemoteRef {
  key: string;
  property?: string;
  version?: string;
}

export interface FindRef {
  path?: string;
  name?: { regexp?: string };
  tags?: Record<string, string>;
}

interface VaultProvider {
  server: string;
  path?: string;
  version?: 'v1' | 'v2';
  namespace?: string;
  auth?: { tokenSecretRef?: { name: string; key?: string; namespace?: string } };
}

export interface ResolvedStore {
  kind: 'SecretStore' | 'ClusterSecretStore';
  name: string;
  provider: { azurekv?: { vaultUrl: string }; vault?: VaultProvider };
}

export interface ProviderContext {
  kube: StandinKube;
  /** Namespace of the ExternalSecret (where a SecretStore's refs point). */
  namespace: string;
  keyVault: (vaultUrl: string) => SecretClient;
  vault: VaultAccess;
}

export interface ProviderClient {
  getSecret(ref: RemoteRef): Promise<Buffer>;
  getSecretMap(ref: RemoteRef): Promise<Record<string, Buffer>>;
  getAllSecrets(find: FindRef): Promise<Record<string, Buffer>>;
}

function toBytes(value: unknown): Buffer {
  return Buffer.from(typeof value === 'string' ? value : JSON.stringify(value));
}

function pick(value: unknown, property: string): unknown {
  let node = value;
  for (const part of property.split('.')) {
    if (node === null || typeof node !== 'object' || !(part in node)) {
      throw new Error(`property ${property} does not exist in secret`);
    }
    node = (node as Record<string, unknown>)[part];
  }
  return node;
}

function jsonFields(text: string, key: string): Record<string, Buffer> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error(`unable to unmarshal secret ${key}: not a JSON object`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new Error(`secret ${key} is not a JSON object`);
  return Object.fromEntries(Object.entries(parsed).map(([k, v]) => [k, toBytes(v)]));
}

function tagsMatch(
  want: Record<string, string> | undefined,
  have: Record<string, string> | undefined,
): boolean {
  return Object.entries(want ?? {}).every(([k, v]) => have?.[k] === v);
}

function azureClient(vaultUrl: string, ctx: ProviderContext): ProviderClient {
  const client = ctx.keyVault(vaultUrl);
  const read = async (ref: RemoteRef): Promise<string> => {
    const [kind, name] = ref.key.includes('/') ? ref.key.split('/', 2) : ['secret', ref.key];
    if (kind !== 'secret') throw new Error(`the stand-in reads only secret/ objects, not ${kind}/`);
    try {
      const secret = await client.getSecret(name as string, ref.version ? { version: ref.version } : {});
      return secret.value ?? '';
    } catch (error) {
      throw new Error(`cannot get secret ${name} from Key Vault: ${backendMessage(error)}`, { cause: error });
    }
  };
  return {
    async getSecret(ref) {
      const value = await read(ref);
      return ref.property ? toBytes(pick(JSON.parse(value), ref.property)) : Buffer.from(value);
    },
    async getSecretMap(ref) {
      return jsonFields(await read(ref), ref.key);
    },
    async getAllSecrets(find) {
      const out: Record<string, Buffer> = {};
      const pattern = find.name?.regexp ? new RegExp(find.name.regexp) : undefined;
      for await (const p of client.listPropertiesOfSecrets()) {
        if (p.enabled === false) continue;
        if (pattern && !pattern.test(p.name)) continue;
        if (!tagsMatch(find.tags, p.tags)) continue;
        out[p.name] = Buffer.from((await client.getSecret(p.name)).value ?? '');
      }
      return out;
    },
  };
}

/** ESO's vault provider path rule: optional mount in the key, `data/` inserted for v2. */
function readPath(p: VaultProvider, key: string): string {
  const v2 = (p.version ?? 'v2') === 'v2';
  let rest = key.replace(/^\/+|\/+$/g, '');
  if (p.path) {
    const mount = p.path.replace(/^\/+|\/+$/g, '');
    if (rest.startsWith(`${mount}/`)) {
      rest = rest.slice(mount.length + 1);
      if (v2 && rest.startsWith('data/')) rest = rest.slice(5);
    }
    return v2 ? `${mount}/data/${rest}` : `${mount}/${rest}`;
  }
  if (v2 && !rest.includes('/data/')) {
    const [mount, ...tail] = rest.split('/');
    return [mount, 'data', ...tail].join('/');
  }
  return rest;
}

async function storeToken(p: VaultProvider, ctx: ProviderContext, store: ResolvedStore): Promise<string> {
  const ref = p.auth?.tokenSecretRef;
  if (!ref) return ctx.vault.token;
  const namespace = store.kind === 'ClusterSecretStore' ? (ref.namespace ?? 'default') : ctx.namespace;
  try {
    const secret = await ctx.kube.core.readNamespacedSecret({ namespace, name: ref.name });
    const raw = secret.data?.[ref.key ?? 'token'];
    if (!raw)
      throw new Error(`cannot get Kubernetes secret "${ref.name}": key ${ref.key ?? 'token'} missing`);
    return Buffer.from(raw, 'base64').toString('utf8');
  } catch (error) {
    if (isNotFound(error))
      throw new Error(`cannot get Kubernetes secret "${ref.name}": secrets "${ref.name}" not found`);
    throw error;
  }
}

function vaultProviderClient(p: VaultProvider, ctx: ProviderContext, store: ResolvedStore): ProviderClient {
  let client: Promise<VaultClient> | undefined;
  const connect = () => {
    client ??= storeToken(p, ctx, store).then((token) =>
      vaultClient(ctx.vault, p.server, token, p.namespace ?? ''),
    );
    return client;
  };
  const readData = async (ref: RemoteRef): Promise<Record<string, unknown>> => {
    const path = readPath(p, ref.key);
    const suffix = ref.version && (p.version ?? 'v2') === 'v2' ? `?version=${ref.version}` : '';
    let res: { data?: Record<string, unknown> };
    try {
      res = (await (await connect()).read(`${path}${suffix}`)) as { data?: Record<string, unknown> };
    } catch (error) {
      throw new Error(`cannot read secret data from Vault: ${backendMessage(error)}`, { cause: error });
    }
    const data =
      (p.version ?? 'v2') === 'v2'
        ? (res.data?.data as Record<string, unknown> | null | undefined)
        : res.data;
    if (!data) throw new Error(`secret not found: ${path}`);
    return data;
  };
  const listUnder = async (vault: VaultClient, mount: string, prefix: string): Promise<string[]> => {
    const res = (await vault.list(`${mount}/metadata/${prefix}`).catch(() => ({ data: { keys: [] } }))) as {
      data?: { keys?: string[] };
    };
    const out: string[] = [];
    for (const k of res.data?.keys ?? []) {
      if (k.endsWith('/')) out.push(...(await listUnder(vault, mount, `${prefix}${k}`)));
      else out.push(`${prefix}${k}`);
    }
    return out;
  };
  return {
    async getSecret(ref) {
      const data = await readData(ref);
      return toBytes(ref.property ? pick(data, ref.property) : data);
    },
    async getSecretMap(ref) {
      const data = await readData(ref);
      return Object.fromEntries(Object.entries(data).map(([k, v]) => [k, toBytes(v)]));
    },
    async getAllSecrets(find) {
      if (!p.path) throw new Error('dataFrom.find needs spec.provider.vault.path in the stand-in');
      const vault = await connect();
      const mount = p.path.replace(/^\/+|\/+$/g, '');
      const start = find.path ? `${find.path.replace(/^\/+|\/+$/g, '')}/` : '';
      const pattern = find.name?.regexp ? new RegExp(find.name.regexp) : undefined;
      const out: Record<string, Buffer> = {};
      for (const key of await listUnder(vault, mount, start)) {
        if (pattern && !pattern.test(key)) continue;
        out[key.replaceAll('/', '_')] = toBytes(await readData({ key }));
      }
      return out;
    },
  };
}

export function providerClient(store: ResolvedStore, ctx: ProviderContext): ProviderClient {
  if (store.provider.azurekv) return azureClient(store.provider.azurekv.vaultUrl, ctx);
  if (store.provider.vault) return vaultProviderClient(store.provider.vault, ctx, store);
  throw new Error(`store ${store.name}: the stand-in supports only the azurekv and vault providers`);
}
