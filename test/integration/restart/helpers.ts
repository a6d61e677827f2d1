import type { V1Container, V1Volume } from '@kubernetes/client-node';
import { type RestartConfig, RestartConfigSchema } from '../../../lib/config.js';
import type { ChangedResource } from '../../../lib/kube/changed-resource.js';
import type { ClusterClient } from '../../../lib/kube/cluster.js';
import { RestartEngine } from '../../../lib/kube/restart/index.js';
import { createNamespace, type KubeClusterDescriptor, kubeClient, testEnv } from '../../env/index.js';

/**
 * Shared set-up for the restart integration tests: the engine always runs as the
 * restricted `rotor` identity (infra/k8s RBAC); objects are created as admin.
 */
export class RestartFixture {
  readonly cluster: KubeClusterDescriptor;
  readonly admin: ClusterClient;
  readonly rotor: ClusterClient;
  readonly engines: RestartEngine[] = [];

  constructor() {
    const cluster = testEnv().clusters[0];
    if (!cluster) throw new Error('the test environment started no cluster');
    this.cluster = cluster;
    this.admin = kubeClient(cluster, 'admin');
    this.rotor = kubeClient(cluster, 'rotor');
  }

  engineFor(
    options: Partial<RestartConfig> = {},
    client: ClusterClient = this.rotor,
    log: (level: string, msg: string) => void = () => undefined,
  ): RestartEngine {
    const config = { ...RestartConfigSchema.parse({ coalesceWindowMs: 100 }), ...options };
    const engine = new RestartEngine(client, config, { log });
    this.engines.push(engine);
    return engine;
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.engines.map((e) => e.close()));
  }

  namespace(prefix = 'restart'): Promise<string> {
    return createNamespace(this.admin, prefix);
  }

  change(kind: ChangedResource['kind'], ns: string, name: string): ChangedResource {
    return { cluster: this.cluster.name, kind, namespace: ns, name };
  }

  async createSecret(
    ns: string,
    name: string,
    data: Record<string, string | Buffer>,
    meta: { labels?: Record<string, string>; annotations?: Record<string, string> } = {},
  ): Promise<void> {
    await this.admin.core.createNamespacedSecret({
      namespace: ns,
      body: { metadata: { name, ...meta }, data: encode(data) },
    });
  }

  async updateSecret(ns: string, name: string, data: Record<string, string | Buffer>) {
    await this.admin.core.replaceNamespacedSecret({
      namespace: ns,
      name,
      body: { metadata: { name }, data: encode(data) },
    });
  }

  createDeployment(
    ns: string,
    name: string,
    spec: ReturnType<typeof podSpec>,
    opts: {
      annotations?: Record<string, string>;
      templateAnnotations?: Record<string, string>;
      paused?: boolean;
    } = {},
  ) {
    return this.admin.apps.createNamespacedDeployment({
      namespace: ns,
      body: {
        metadata: { name, annotations: opts.annotations },
        spec: {
          paused: opts.paused,
          selector: { matchLabels: { app: name } },
          template: { metadata: { labels: { app: name }, annotations: opts.templateAnnotations }, spec },
        },
      },
    });
  }

  readDeployment(ns: string, name: string) {
    return this.admin.apps.readNamespacedDeployment({ namespace: ns, name });
  }
}

/** A fixture and a fresh namespace for one test file (its beforeAll); `f.closeAll()` after. */
export async function restartFixture(prefix: string): Promise<{ f: RestartFixture; ns: string }> {
  const f = new RestartFixture();
  return { f, ns: await f.namespace(prefix) };
}

export function encode(data: Record<string, string | Buffer>): Record<string, string> {
  return Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')]));
}

export function podSpec(containers: V1Container[], volumes: V1Volume[] = []) {
  return { containers, volumes };
}

export function container(name: string, extra: Partial<V1Container> = {}): V1Container {
  return { name, image: 'registry.invalid/app:1', ...extra };
}

export function envOf(
  obj: { spec?: { template?: { spec?: { containers?: V1Container[] } } } },
  containerName: string,
): Record<string, string | undefined> {
  const c = obj.spec?.template?.spec?.containers?.find((x) => x.name === containerName);
  return Object.fromEntries((c?.env ?? []).map((e) => [e.name, e.value]));
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * What a writer other than the controllers changes: the spec (generation), the annotations
 * (but the controllers' own), and rotor's managed fields. The test clusters run kube-controller-manager, whose status
 * writes move resourceVersion without rotor doing anything.
 */
export function rotorView(obj: {
  metadata?: {
    generation?: number;
    annotations?: Record<string, string>;
    managedFields?: Array<{ manager?: string; operation?: string; time?: Date | string; fieldsV1?: object }>;
  };
}) {
  return {
    generation: obj.metadata?.generation,
    // deployment.kubernetes.io/revision and the like are the controllers'.
    annotations: Object.fromEntries(
      Object.entries(obj.metadata?.annotations ?? {}).filter(([k]) => !k.includes('kubernetes.io/')),
    ),
    rotorWrites: (obj.metadata?.managedFields ?? [])
      .filter((m) => m.manager === 'rotor')
      .map((m) => ({ operation: m.operation, time: String(m.time), fields: JSON.stringify(m.fieldsV1) })),
  };
}
