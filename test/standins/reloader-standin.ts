/**
 * A stand-in for Stakater Reloader (v1.4.x, env-vars strategy, Deployments), to run beside
 * rotor in the tests: Reloader is not served as a Go module here. It follows the facts in
 * REFERENCE.md 1 and 2a and is written from them, not from rotor's code, so the two are
 * checked against each other:
 *  - An informer on Secrets (scoped to the test's namespaces). An update whose data hash
 *    differs from the previous object's is queued with the object of that event, as
 *    Reloader's controller queues ResourceUpdatedHandler{Resource: new, OldResource: old};
 *    one worker handles the queue in order. A creation restarts nothing.
 *  - `lagMs`: each event is handled no earlier than a random delay in [min, max] after it
 *    arrived (and after the event before it). A lagging Reloader therefore replays an older
 *    event's data after the Secret has changed again, which is what costs extra rollouts.
 *  - Per event it lists the namespace's Deployments and restarts those that reference the
 *    Secret with `reloader.stakater.com/auto` or `secret.reloader.stakater.com/auto` true,
 *    or name it in `secret.reloader.stakater.com/reload`; annotations are read from the pod
 *    template when the Deployment has none of these keys.
 *  - Env var `STAKATER_<NAME>_SECRET` = SHA-1 of the sorted `key=value` entries joined by
 *    `;`, on the container that mounts the Secret, else the one that references it by env,
 *    else (named reload only) the first container. A variable that already holds the hash
 *    is not written. Otherwise a strategic-merge patch guarded by the resourceVersion read;
 *    on 409 it reads again and decides again.
 */
import { createHash } from 'node:crypto';
import {
  AppsV1Api,
  makeInformer,
  PatchStrategy,
  setHeaderOptions,
  type V1Container,
  type V1Deployment,
  type V1Secret,
} from '@kubernetes/client-node';
import { isConflict, type StandinKube, standinKube } from './standin-kube.js';

export const RELOADER_STANDIN = {
  auto: 'reloader.stakater.com/auto',
  secretAuto: 'secret.reloader.stakater.com/auto',
  secretReload: 'secret.reloader.stakater.com/reload',
  maxConflictRetries: 5,
} as const;

export interface ReloaderStandinOptions {
  kubeconfig: string;
  namespaces: readonly string[];
  /** How late each event is handled; [0, 0] is a Reloader that keeps up. */
  lagMs?: { min: number; max: number };
}

/** One template write of the stand-in: what a rollout of the real Reloader would be. */
export interface ReloaderWrite {
  namespace: string;
  deployment: string;
  variable: string;
  hash: string;
  at: number;
}

export interface ReloaderStandin {
  readonly writes: ReloaderWrite[];
  /**
   * Handles no event before `until` settles (on top of the lag): a Reloader lagging behind
   * a given moment, whatever the machine's load.
   */
  holdUntil(until: Promise<unknown>): void;
  /** Resolves when every event received so far has been handled. */
  idle(): Promise<void>;
  /** Resolves once the stand-in has seen the Secret with this data hash and handled it. */
  caughtUp(namespace: string, name: string, hash: string, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

interface QueuedEvent {
  secret: V1Secret;
  dueAt: number;
}

/** Go's sort.Strings on the UTF-8 bytes of `key=value`, joined by ';', SHA-1, hex. */
export function reloaderStandinHash(data: Record<string, string> | undefined): string {
  const entries = Object.entries(data ?? {}).map(([k, v]) =>
    Buffer.concat([Buffer.from(`${k}=`, 'utf8'), Buffer.from(v, 'base64')]),
  );
  entries.sort(Buffer.compare);
  const joined = entries.flatMap((e, i) => (i === 0 ? [e] : [Buffer.from(';'), e]));
  return createHash('sha1').update(Buffer.concat(joined)).digest('hex');
}

/**
 * STAKATER_<NAME>_SECRET: upper case; a run of characters outside [A-Z0-9] becomes one '_',
 * except at the start, where it is dropped.
 */
export function reloaderStandinVariable(secretName: string): string {
  const name = secretName
    .toUpperCase()
    .replace(/[^A-Z0-9]+/g, '_')
    .replace(/^_/, '');
  return `STAKATER_${name}_SECRET`;
}

function parseBool(value: string | undefined): boolean {
  return value !== undefined && ['1', 't', 'T', 'true', 'TRUE', 'True'].includes(value);
}

const RELOADER_KEYS = [RELOADER_STANDIN.auto, RELOADER_STANDIN.secretAuto, RELOADER_STANDIN.secretReload];

function reloaderAnnotations(d: V1Deployment): Record<string, string> {
  const own = d.metadata?.annotations ?? {};
  return RELOADER_KEYS.some((k) => k in own) ? own : (d.spec?.template.metadata?.annotations ?? {});
}

function mounts(d: V1Deployment, c: V1Container, secret: string): boolean {
  const volumes = (d.spec?.template.spec?.volumes ?? []).filter(
    (v) =>
      v.secret?.secretName === secret || (v.projected?.sources ?? []).some((s) => s.secret?.name === secret),
  );
  return (c.volumeMounts ?? []).some((m) => volumes.some((v) => v.name === m.name));
}

function envReferences(c: V1Container, secret: string): boolean {
  return (
    (c.envFrom ?? []).some((e) => e.secretRef?.name === secret) ||
    (c.env ?? []).some((e) => e.valueFrom?.secretKeyRef?.name === secret)
  );
}

/** The container Reloader writes the variable on, or undefined when it restarts nothing. */
function targetContainer(d: V1Deployment, secret: string): string | undefined {
  const annotations = reloaderAnnotations(d);
  const containers = d.spec?.template.spec?.containers ?? [];
  const referencing =
    containers.find((c) => mounts(d, c, secret)) ?? containers.find((c) => envReferences(c, secret));
  const named = (annotations[RELOADER_STANDIN.secretReload] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .some((pattern) => new RegExp(`^${pattern}$`).test(secret));
  if (named) return (referencing ?? containers[0])?.name;
  const auto =
    parseBool(annotations[RELOADER_STANDIN.auto]) || parseBool(annotations[RELOADER_STANDIN.secretAuto]);
  return auto ? referencing?.name : undefined;
}

class ReloaderController {
  readonly writes: ReloaderWrite[] = [];
  private readonly apps: AppsV1Api;
  private readonly hashes = new Map<string, string>();
  private readonly queue: QueuedEvent[] = [];
  private working?: Promise<void>;
  hold: Promise<unknown> = Promise.resolve();
  stopped = false;

  constructor(
    readonly kube: StandinKube,
    private readonly lag: { min: number; max: number },
  ) {
    this.apps = kube.kc.makeApiClient(AppsV1Api);
  }

  /** The informer's add/update: only a change of data is an event Reloader acts on. */
  observe(secret: V1Secret, created: boolean): void {
    const key = `${secret.metadata?.namespace}/${secret.metadata?.name}`;
    const hash = reloaderStandinHash(secret.data);
    const previous = this.hashes.get(key);
    this.hashes.set(key, hash);
    if (created || previous === undefined || previous === hash || this.stopped) return;
    const delay = this.lag.min + Math.random() * (this.lag.max - this.lag.min);
    this.queue.push({ secret, dueAt: performance.now() + delay });
    this.working ??= this.work().finally(() => {
      this.working = undefined;
    });
  }

  idle(): Promise<void> {
    return this.working ?? Promise.resolve();
  }

  async caughtUp(namespace: string, name: string, hash: string, timeoutMs: number): Promise<void> {
    const until = performance.now() + timeoutMs;
    while (this.hashes.get(`${namespace}/${name}`) !== hash) {
      if (performance.now() > until)
        throw new Error(`the Reloader stand-in never saw ${namespace}/${name} at ${hash}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await this.idle();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.queue.length = 0;
    await this.idle();
  }

  private async work(): Promise<void> {
    for (let next = this.queue.shift(); next; next = this.queue.shift()) {
      const wait = next.dueAt - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      await this.hold.catch(() => undefined);
      if (this.stopped) return;
      await this.handle(next.secret).catch(() => undefined);
    }
  }

  private async handle(secret: V1Secret): Promise<void> {
    const namespace = secret.metadata?.namespace ?? '';
    const name = secret.metadata?.name ?? '';
    const hash = reloaderStandinHash(secret.data);
    const list = await this.apps.listNamespacedDeployment({ namespace });
    await Promise.all(list.items.map((d) => this.restart(d, name, hash)));
  }

  private async restart(listed: V1Deployment, secret: string, hash: string): Promise<void> {
    const variable = reloaderStandinVariable(secret);
    let d = listed;
    for (let attempt = 1; ; attempt++) {
      const container = targetContainer(d, secret);
      if (!container) return;
      const current = (d.spec?.template.spec?.containers ?? [])
        .find((c) => c.name === container)
        ?.env?.find((e) => e.name === variable)?.value;
      if (current === hash) return;
      const namespace = d.metadata?.namespace ?? '';
      const name = d.metadata?.name ?? '';
      try {
        await this.apps.patchNamespacedDeployment(
          {
            namespace,
            name,
            fieldManager: 'reloader',
            body: {
              metadata: { resourceVersion: d.metadata?.resourceVersion },
              spec: {
                template: {
                  spec: { containers: [{ name: container, env: [{ name: variable, value: hash }] }] },
                },
              },
            },
          },
          setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
        );
        this.writes.push({ namespace, deployment: name, variable, hash, at: performance.now() });
        return;
      } catch (error) {
        if (!isConflict(error) || attempt >= RELOADER_STANDIN.maxConflictRetries) throw error;
        d = await this.apps.readNamespacedDeployment({ namespace, name });
      }
    }
  }
}

export async function startReloaderStandin(opts: ReloaderStandinOptions): Promise<ReloaderStandin> {
  const controller = new ReloaderController(standinKube(opts.kubeconfig), opts.lagMs ?? { min: 0, max: 0 });
  const informers = opts.namespaces.map((namespace) => {
    const informer = makeInformer<V1Secret>(
      controller.kube.kc,
      `/api/v1/namespaces/${namespace}/secrets`,
      () => controller.kube.core.listNamespacedSecret({ namespace }),
    );
    // The initial list is not a change; everything after it is.
    let listed = false;
    informer.on('add', (s) => controller.observe(s, listed));
    informer.on('update', (s) => controller.observe(s, false));
    informer.on('error', () => {
      if (!controller.stopped) setTimeout(() => void informer.start().catch(() => {}), 500);
    });
    return { informer, markListed: () => (listed = true) };
  });
  await Promise.all(
    informers.map(async (i) => {
      await i.informer.start();
      i.markListed();
    }),
  );
  return {
    writes: controller.writes,
    holdUntil: (until) => {
      controller.hold = until;
    },
    idle: () => controller.idle(),
    caughtUp: (namespace, name, hash, timeoutMs = 10_000) =>
      controller.caughtUp(namespace, name, hash, timeoutMs),
    async stop() {
      await controller.stop();
      await Promise.all(informers.map((i) => i.informer.stop()));
    },
  };
}
