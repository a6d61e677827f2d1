import { setTimeout as delay } from 'node:timers/promises';
import type { RefreshResult } from '../../outcome.js';
import { annotate } from '../api/custom-objects.js';
import { GVR } from '../api/gvr.js';
import { conditionOf, type KubeObject, serverPatchTime } from '../api/objects.js';
import type { ChangedResource } from '../changed-resource.js';
import type { ClusterClient } from '../cluster.js';
import type { Verdict } from './await.js';
import type { WarningEvent } from './events.js';
import { eventsVersion } from './events-version.js';
import type { DerivedObject, Operator, RefreshContext, RefreshOutput, ResolveContext } from './operator.js';
import { refreshedTargets, refreshFailed } from './operator.js';
import { atOrAfter, awaitRefresh, FORCE_SYNC_ANNOTATION, floorToSecond, forceValue } from './refresh-flow.js';
import { withTap } from './shared-watch.js';
import { readSecretData, sameData } from './target-secret.js';

/**
 * Vault Secrets Operator: only VaultStaticSecret is ever forced. VaultDynamicSecret and
 * VaultPKISecret are never listed: a forced sync of those issues new credentials or
 * certificates, which a KV change must not cause.
 */

interface VssSpec {
  mount?: string;
  path?: string;
  type?: string;
  version?: number;
  namespace?: string;
  vaultAuthRef?: string;
  destination?: { name?: string };
}

export const DEFAULT_VSO_NAMESPACE = 'vault-secrets-operator-system';
const DEFAULT_NAME = 'default';

/** `ns/name`, `name` (in the referrer's namespace) or empty (the operator's `default`). */
export function resolveVsoRef(
  ref: string | undefined,
  referrerNamespace: string,
  operatorNamespace: string,
): string {
  if (!ref) return `${operatorNamespace}/${DEFAULT_NAME}`;
  return ref.includes('/') ? ref : `${referrerNamespace}/${ref}`;
}

function key(obj: KubeObject): string {
  return `${obj.metadata?.namespace}/${obj.metadata?.name ?? ''}`;
}

async function resolve(client: ClusterClient, ctx: ResolveContext): Promise<DerivedObject[]> {
  const vso = ctx.matcher.vso;
  if (!vso) return [];
  const [statics, auths, connections] = await Promise.all([
    ctx.objects.list(GVR.vaultStaticSecret),
    ctx.objects.list(GVR.vaultAuth),
    ctx.objects.list(GVR.vaultConnection),
  ]);
  const authBy = new Map(auths.items.map((a) => [key(a), a]));
  const connectionBy = new Map(connections.items.map((c) => [key(c), c]));
  const derived: DerivedObject[] = [];
  for (const vss of statics.items) {
    const ns = vss.metadata?.namespace ?? '';
    const spec = (vss.spec ?? {}) as VssSpec;
    if (spec.type !== 'kv-v2' && spec.type !== 'kv-v1') continue;
    if (!vso.reads(spec.mount ?? '', spec.path ?? '')) continue;
    const auth = authBy.get(resolveVsoRef(spec.vaultAuthRef, ns, ctx.vsoOperatorNamespace));
    if (!auth) continue;
    const authSpec = (auth.spec ?? {}) as { vaultConnectionRef?: string; namespace?: string };
    const connection = connectionBy.get(
      resolveVsoRef(authSpec.vaultConnectionRef, auth.metadata?.namespace ?? '', ctx.vsoOperatorNamespace),
    );
    const address = (connection?.spec as { address?: string } | undefined)?.address;
    if (!address || !ctx.matcher.address(address)) continue;
    if (!vso.inNamespace(spec.namespace || authSpec.namespace || '')) continue;
    const warnings: string[] = [];
    if (spec.type === 'kv-v2' && spec.version) {
      warnings.push(`spec.version pins version ${spec.version}: a refresh keeps that version`);
    }
    derived.push({
      cluster: client.name,
      operator: 'vso',
      kind: 'VaultStaticSecret',
      namespace: ns,
      name: vss.metadata?.name ?? '',
      ...(spec.destination?.name ? { targetSecret: spec.destination.name } : {}),
      warnings,
      forceable: true,
    });
  }
  return derived;
}

/** VSO's Ready mirrors Healthy; older releases only have Healthy. */
function readiness(obj: KubeObject) {
  return conditionOf(obj, 'Ready') ?? conditionOf(obj, 'Healthy');
}

/** What a VSO reconcile writes; a difference means a status update happened. */
function statusMark(obj: KubeObject): string {
  const ready = readiness(obj);
  return JSON.stringify([
    obj.status?.secretMAC,
    obj.status?.lastGeneration,
    ready?.status,
    ready?.lastTransitionTime,
  ]);
}

/**
 * Done when Ready is True for the current generation with lastTransitionTime at or after
 * the patch (VSO renews it on every successful reconcile) and either in a second later
 * than the previous reconcile (`threshold`) or with a status that differs from the one
 * our patch returned: VSO writes status with optimistic concurrency, so a status written
 * after our patch comes from a reconcile that read it. Failed when Ready or SecretSynced
 * turned False after the patch.
 */
export function vssVerdict(
  since: Date,
  threshold: Date = since,
  patched?: KubeObject,
): (obj: KubeObject) => Verdict {
  const baseline = patched ? statusMark(patched) : undefined;
  return (obj) => {
    const ready = readiness(obj);
    const lastGeneration = obj.status?.lastGeneration as number | undefined;
    const fresh =
      atOrAfter(ready?.lastTransitionTime, threshold) ||
      (baseline !== undefined && statusMark(obj) !== baseline);
    if (
      ready?.status === 'True' &&
      atOrAfter(ready.lastTransitionTime, since) &&
      fresh &&
      lastGeneration === obj.metadata?.generation
    ) {
      return { state: 'done' };
    }
    const synced = conditionOf(obj, 'SecretSynced');
    for (const c of [ready, synced]) {
      if (
        c?.status === 'False' &&
        atOrAfter(c.lastTransitionTime, since) &&
        (fresh || atOrAfter(c.lastTransitionTime, threshold))
      ) {
        return { state: 'failed', error: failureText(synced?.status === 'False' ? synced : c) };
      }
    }
    return { state: 'pending' };
  };
}

/**
 * VSO's Ready says only "Ready: VaultStaticSecretReady", even when False; the error is in
 * SecretSynced's message ("Failed to sync the secret, horizon=5s, err=...").
 */
function failureText(c: NonNullable<ReturnType<typeof conditionOf>>): string {
  return `${c.type}=False ${c.reason ?? ''}: ${c.message ?? ''}`;
}

/**
 * VSO records this when the object changed while it reconciled (a concurrent force, GitOps,
 * kubectl) and does not retry: the change that conflicted triggers the next reconcile.
 */
export function isStatusConflict(w: WarningEvent): boolean {
  return w.reason === 'StatusUpdateError' && /the object has been modified/.test(w.message);
}

function describeVss(obj: KubeObject): string {
  const ready = readiness(obj);
  return ready
    ? `${ready.type}=${ready.status} ${ready.reason ?? ''} at ${ready.lastTransitionTime ?? '?'}: ${ready.message ?? ''}`
    : 'no Ready condition yet';
}

/**
 * VSO's condition times have whole seconds. When its last reconcile fell in the second of
 * our patch, a reconcile in that same second writes an identical status (no change, no
 * watch event) and cannot be told apart from the earlier one: only a Ready written in a
 * later second proves a reconcile after the force.
 */
export function completionThreshold(previousReady: string | undefined, since: Date): Date {
  if (!previousReady) return since;
  const previous = floorToSecond(new Date(previousReady));
  return previous.getTime() >= since.getTime() ? new Date(previous.getTime() + 1000) : since;
}

/** Forces again once the server's clock reaches `threshold`, so VSO reconciles in a later second. */
async function reforceUntil(
  threshold: Date,
  force: () => Promise<KubeObject>,
  fieldManager: string,
  signal: AbortSignal,
): Promise<void> {
  try {
    while (!signal.aborted) {
      await delay(1_020 - (Date.now() % 1_000), undefined, { signal });
      const at = serverPatchTime(await force(), fieldManager);
      if (!at || at.getTime() >= threshold.getTime()) return;
    }
  } catch {
    // Aborted, or a failed re-force: the first force stands and the await reports the outcome.
  }
}

async function refreshStatic(
  client: ClusterClient,
  d: DerivedObject,
  ctx: RefreshContext,
): Promise<RefreshOutput> {
  const started = performance.now();
  const deadline = Date.now() + ctx.timeoutMs;
  // The resolve read the spec a moment ago (object cache): no GET before the force, whose
  // answer is the baseline. Where VSO writes is taken from the synced object below; a
  // destination changed in between is compared with nothing, so reported as changed.
  const planned = d.targetSecret ?? '';
  const [before, version] = await Promise.all([
    planned ? readSecretData(client, d.namespace, planned) : null,
    eventsVersion(client, d.namespace),
  ]);
  const force = () =>
    annotate(
      client,
      GVR.vaultStaticSecret,
      d.namespace,
      d.name,
      { [FORCE_SYNC_ANNOTATION]: forceValue(ctx.clock) },
      ctx.fieldManager,
    );
  // Followed on the object cache's watch when it has one: no watch (TLS connection) of its own.
  const awaited = await withTap(ctx.watched, GVR.vaultStaticSecret, d.namespace, d.name, async (tap) => {
    const patched = await force();
    const since = serverPatchTime(patched, ctx.fieldManager) ?? floorToSecond(ctx.clock.now());
    // The previous reconcile as of the force (the patch returns the status too), not as of the
    // read above: one may have written its status in between, in the second of the force.
    const threshold = completionThreshold(readiness(patched)?.lastTransitionTime, since);
    const stopReforcing = new AbortController();
    if (threshold > since) void reforceUntil(threshold, force, ctx.fieldManager, stopReforcing.signal);
    return awaitRefresh(client, {
      gvr: GVR.vaultStaticSecret,
      namespace: d.namespace,
      name: d.name,
      resourceVersion: patched.metadata?.resourceVersion ?? '',
      evaluate: vssVerdict(since, threshold, patched),
      ...(tap ? { tap } : {}),
      events: { version, notBefore: since, benign: isStatusConflict },
      deadline,
      timeoutMs: ctx.timeoutMs,
      describe: (obj) => describeVss(obj ?? patched),
    }).finally(() => stopReforcing.abort());
  });
  if (!awaited.ok) return { result: [refreshFailed('vso', d, awaited.error)] };
  const target = ((awaited.object.spec ?? {}) as VssSpec).destination?.name ?? planned;
  const after = await readSecretData(client, d.namespace, target);
  const secretChanged = target !== planned || !sameData(before, after);
  return {
    result: [
      {
        status: 'refreshed',
        cluster: d.cluster,
        operator: 'vso',
        kind: d.kind,
        namespace: d.namespace,
        name: d.name,
        targetSecret: target,
        secretChanged,
        ms: Math.round(performance.now() - started),
      },
    ],
  };
}

async function refresh(client: ClusterClient, d: DerivedObject, ctx: RefreshContext): Promise<RefreshOutput> {
  try {
    return await refreshStatic(client, d, ctx);
  } catch (error) {
    return { result: [refreshFailed('vso', d, error)] };
  }
}

/** A VaultStaticSecret changes its destination Secret. */
function affects(d: DerivedObject, results?: readonly RefreshResult[]): ChangedResource[] {
  if (results) return refreshedTargets(d.cluster, results);
  if (!d.forceable || !d.targetSecret) return [];
  return [{ cluster: d.cluster, kind: 'Secret', namespace: d.namespace, name: d.targetSecret }];
}

export const vsoOperator: Operator = {
  id: 'vso',
  reads: [GVR.vaultStaticSecret, GVR.vaultAuth, GVR.vaultConnection],
  resolve,
  refresh,
  affects,
};
