/**
 * The object cache on the real API server, through the pipeline's cluster side
 * (ClusterPorts.resolve, what every event runs): operator objects are listed once per kind
 * and then followed by watch, so the LIST requests a cluster receives do not grow with the
 * number of events, and an object created after the cache started is found by the next one.
 * LIST requests are counted by wrapping the restricted `rotor` client's API objects.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../../lib/clock.js';
import { ClusterPorts } from '../../../lib/cluster-ports.js';
import { parseConfig } from '../../../lib/config.js';
import type { ClusterClient } from '../../../lib/kube/cluster.js';
import { SecretRefSchema } from '../../../lib/secret-ref.js';
import { createLogger } from '../../../lib/telemetry.js';
import { kubeClient, testEnv, uniqueName } from '../../env/index.js';
import { create, IN_CLUSTER_VAULT, manifest, namespace } from '../operators/support.js';

const env = testEnv();
const cluster = env.clusters[0]!;
let admin: ClusterClient;
let ns: string;
let ports: ClusterPorts;
const lists: string[] = [];

/** Every `list*` call on the client's API objects is recorded before it is sent. */
function counting(client: ClusterClient): ClusterClient {
  const wrap = <T extends object>(api: T, name: string): T =>
    new Proxy(api, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver);
        if (typeof prop !== 'string' || !prop.startsWith('list') || typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          const q = args[0] as { plural?: string; namespace?: string } | undefined;
          lists.push(`${name}.${prop} ${q?.plural ?? ''} ${q?.namespace ?? ''}`.trim());
          return value.apply(target, args);
        };
      },
    });
  return {
    ...client,
    core: wrap(client.core, 'core'),
    apps: wrap(client.apps, 'apps'),
    batch: wrap(client.batch, 'batch'),
    custom: wrap(client.custom, 'custom'),
  };
}

function vaultRef(path: string) {
  return SecretRefSchema.parse({ backend: 'vault', address: env.openbao.address, mount: 'secret', path });
}

async function vaultExternalSecret(name: string, path: string): Promise<void> {
  const store = manifest('secretstore-vault.yaml', `${name}-store`, ns);
  (store.spec as { provider: { vault: { server: string } } }).provider.vault.server = IN_CLUSTER_VAULT;
  await create(admin, store);
  const es = manifest('externalsecret-extract.yaml', name, ns);
  const spec = es.spec as {
    secretStoreRef: { kind: string; name: string };
    target: { name: string };
    dataFrom: Array<{ extract: { key: string } }>;
  };
  spec.secretStoreRef = { kind: 'SecretStore', name: `${name}-store` };
  spec.target.name = name;
  spec.dataFrom[0]!.extract.key = path;
  await create(admin, es);
}

beforeAll(async () => {
  admin = kubeClient(cluster, 'admin');
  ns = await namespace(admin, 'cache');
  const rotor = counting(kubeClient(cluster, 'rotor'));
  const config = parseConfig({
    vaults: [
      {
        name: 'bao',
        address: env.openbao.address,
        aliases: [IN_CLUSTER_VAULT],
        mounts: [{ path: 'secret' }],
      },
    ],
  });
  ports = new ClusterPorts({
    clusters: { names: () => [cluster.name], get: async () => rotor },
    config,
    clock: systemClock,
    log: createLogger('error', () => undefined),
  });
});

afterAll(async () => {
  await ports?.close();
  await admin?.core.deleteNamespace({ name: ns });
});

describe('object cache of operator objects', () => {
  it('lists each kind once, however many events resolve through it', async () => {
    const path = `apps/${uniqueName('cached')}`;
    const name = uniqueName('es');
    await vaultExternalSecret(name, path);

    const first = await ports.resolve(cluster.name, vaultRef(path));
    const afterFirst = lists.length;
    const later = [];
    for (let i = 0; i < 20; i++) later.push(await ports.resolve(cluster.name, vaultRef(path)));

    expect(first.map((d) => `${d.kind} ${d.namespace}/${d.name}`)).toEqual([`ExternalSecret ${ns}/${name}`]);
    for (const derived of later) expect(derived).toEqual(first);
    expect(afterFirst).toBeGreaterThan(0);
    expect(lists.slice(afterFirst)).toEqual([]);
  });

  it('finds an object created after the cache started at the next event, from the watch, without a list', async () => {
    await ports.resolve(cluster.name, vaultRef(`apps/${uniqueName('warm')}`));
    const before = lists.length;
    const path = `apps/${uniqueName('late')}`;
    const name = uniqueName('es-late');
    await vaultExternalSecret(name, path);

    // The watch delivers within milliseconds; events are a few apart at best.
    const deadline = Date.now() + 5_000;
    let derived = await ports.resolve(cluster.name, vaultRef(path));
    while (derived.length === 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      derived = await ports.resolve(cluster.name, vaultRef(path));
    }

    expect(derived.map((d) => d.name)).toEqual([name]);
    expect(lists.slice(before)).toEqual([]);
  });
});
