import type { V1Deployment } from '@kubernetes/client-node';
import type { Clock } from '../../clock.js';
import { describeError } from '../../errors.js';
import type { KubeObject } from '../api/objects.js';
import type { ClusterClient } from '../cluster.js';
import { RELOADER } from './annotations.js';
import { pausePeriodMs } from './kinds/deployment.js';
import { mergePatch } from './kinds/pod-template-kind.js';
import { FIELD_MANAGER } from './kinds/types.js';

type Warn = (msg: string, fields: Record<string, unknown>) => void;

export interface ResumedDeployment {
  namespace: string;
  name: string;
}

/**
 * Resumes the Deployments a restart paused (pause-period) once their period is over.
 * Runs from the timer, so a pause survives a restarted or scaled-in rotor; one paged list
 * per run, never per event. The patch is guarded by the resourceVersion read, so a
 * Deployment changed meanwhile is left for the next run.
 */
export async function resumeExpiredPauses(
  client: ClusterClient,
  clock: Clock,
  namespaces?: readonly string[],
): Promise<ResumedDeployment[]> {
  const resumed: ResumedDeployment[] = [];
  for (const namespace of namespaces ?? [undefined]) {
    resumed.push(...(await resumeIn(client, clock, namespace)));
  }
  return resumed;
}

/** One namespace's Deployments, or every namespace's (cluster mode). */
async function resumeIn(
  client: ClusterClient,
  clock: Clock,
  scope: string | undefined,
): Promise<ResumedDeployment[]> {
  const resumed: ResumedDeployment[] = [];
  let token: string | undefined;
  do {
    const query = { limit: 500, _continue: token };
    const page = await (scope === undefined
      ? client.apps.listDeploymentForAllNamespaces(query)
      : client.apps.listNamespacedDeployment({ ...query, namespace: scope }));
    for (const d of page.items) {
      if (!isDue(d, clock.now())) continue;
      const namespace = d.metadata?.namespace ?? '';
      const name = d.metadata?.name ?? '';
      await client.apps.patchNamespacedDeployment(
        {
          namespace,
          name,
          fieldManager: FIELD_MANAGER,
          body: {
            metadata: {
              resourceVersion: d.metadata?.resourceVersion,
              annotations: { [RELOADER.pausedAt]: null },
            },
            spec: { paused: false },
          },
        },
        mergePatch,
      );
      resumed.push({ namespace, name });
    }
    token = page.metadata?._continue || undefined;
  } while (token);
  return resumed;
}

function isDue(d: V1Deployment, now: Date): boolean {
  const pausedAt = d.metadata?.annotations?.[RELOADER.pausedAt];
  if (!d.spec?.paused || !pausedAt) return false;
  const period = pausePeriodMs(d as KubeObject);
  const since = Date.parse(pausedAt);
  // A pause-period removed while paused: resume now rather than never.
  return Number.isNaN(since) || period === undefined || now.getTime() - since >= period;
}

/**
 * Resumes each Deployment a restart paused when its period ends, while this process lives;
 * the timer's resumeExpiredPauses covers pauses that outlive it.
 */
export class PauseResumer {
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(
    private readonly client: ClusterClient,
    private readonly clock: Clock,
    private readonly namespaces: readonly string[] | undefined,
    private readonly warn: Warn,
  ) {}

  resumeExpired(): Promise<ResumedDeployment[]> {
    return resumeExpiredPauses(this.client, this.clock, this.namespaces);
  }

  /** After a restart wrote `obj`: when it paused the Deployment, resume it once the period is over. */
  schedule(obj: KubeObject): void {
    const period = obj.spec?.paused ? pausePeriodMs(obj) : undefined;
    if (!period) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.resumeExpired().catch((error) =>
        this.warn('resuming paused Deployments failed; the timer will retry', {
          error: describeError(error).message,
        }),
      );
    }, period + 100);
    timer.unref();
    this.timers.add(timer);
  }

  close(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}
