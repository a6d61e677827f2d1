import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { RefreshResult } from '../../outcome.js';
import { annotate, getObject } from '../api/custom-objects.js';
import { kubeError } from '../api/errors.js';
import { GVR } from '../api/gvr.js';
import { type KubeObject, serverPatchTime } from '../api/objects.js';
import type { ChangedResource } from '../changed-resource.js';
import type { ClusterClient } from '../cluster.js';
import { type ExternalSecretSpec, specForceability, specOf, targetName } from './eso-match.js';
import { resolveExternalSecrets } from './eso-resolve.js';
import { describeEs, esVerdict, knownFailure } from './eso-verdict.js';
import { eventsVersion } from './events-version.js';
import type { DerivedObject, Operator, RefreshContext, RefreshOutput } from './operator.js';
import { refreshedTargets, refreshFailed } from './operator.js';
import { awaitRefresh, FORCE_SYNC_ANNOTATION, floorToSecond, forceValue } from './refresh-flow.js';
import { withTap } from './shared-watch.js';
import { readSecretData, type SecretHash, secretHash } from './target-secret.js';

/** The only annotation of its own a ClusterExternalSecret (ESO 2.x) copies to the ExternalSecrets it provisions. */
export const CES_FORCE_SYNC_ANNOTATION = 'external-secrets.io/force-sync';

/** What is read before the force: the target Secret's content and where to watch events from. */
interface Before {
  secret: SecretHash;
  eventsVersion: string | undefined;
}

async function before(client: ClusterClient, namespace: string, target: string): Promise<Before> {
  const [data, version] = await Promise.all([
    readSecretData(client, namespace, target),
    eventsVersion(client, namespace),
  ]);
  return { secret: secretHash(data), eventsVersion: version };
}

/** A forced ExternalSecret of a ClusterExternalSecret: its state before the parent's force, and its target's. */
async function childBefore(
  client: ClusterClient,
  namespace: string,
  name: string,
): Promise<Before & { es: KubeObject }> {
  const es = await getObject(client, GVR.externalSecret, namespace, name);
  return { es, ...(await before(client, namespace, targetName(specOf(es), name))) };
}

/**
 * The target Secret once the operator is done, read through the restart step's reads when
 * the run has them (the restart then hashes this very read). Returns when it was read.
 */
async function readAfter(
  client: ClusterClient,
  ctx: RefreshContext,
  namespace: string,
  name: string,
): Promise<{ secret: SecretHash; at: number }> {
  const at = performance.now();
  if (!ctx.reads) return { secret: secretHash(await readSecretData(client, namespace, name)), at };
  const read = await ctx.reads.read({ cluster: client.name, kind: 'Secret', namespace, name }, at);
  return { secret: read.present ? read.hash : null, at };
}

type Subject = Pick<DerivedObject, 'cluster' | 'kind' | 'namespace' | 'name'>;

function settle(
  d: Subject,
  target: string,
  before: SecretHash,
  after: { secret: SecretHash; at: number },
  started: number,
): RefreshOutput {
  const secretChanged = before !== after.secret;
  return {
    syncedAt: new Map([[`${d.namespace}/${target}`, after.at]]),
    result: [
      {
        status: 'refreshed',
        cluster: d.cluster,
        operator: 'eso',
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

async function refreshExternalSecret(
  client: ClusterClient,
  d: DerivedObject,
  ctx: RefreshContext,
): Promise<RefreshOutput> {
  const started = performance.now();
  const deadline = Date.now() + ctx.timeoutMs;
  // The resolve read the ExternalSecret a moment ago (its spec: forceability and target);
  // the patch answers with its current state, the baseline the sync is judged against.
  if (!d.forceable) return { result: [notForceable(d, d.fix)] };
  const target = d.targetSecret ?? d.name;
  const pre = secretHash(await readSecretData(client, d.namespace, target));
  return withTap(ctx.watched, GVR.externalSecret, d.namespace, d.name, async (tap) => {
    const patched = await annotate(
      client,
      GVR.externalSecret,
      d.namespace,
      d.name,
      { [FORCE_SYNC_ANNOTATION]: forceValue(ctx.clock) },
      ctx.fieldManager,
    );
    // Changed since the resolve read it: ESO ignores the annotation; reported as before.
    const force = specForceability(specOf(patched));
    if (!force.forceable) return { result: [notForceable(d, force.fix)] };
    const since = serverPatchTime(patched, ctx.fieldManager) ?? floorToSecond(ctx.clock.now());
    const awaited = await awaitRefresh(client, {
      gvr: GVR.externalSecret,
      namespace: d.namespace,
      name: d.name,
      resourceVersion: patched.metadata?.resourceVersion ?? '',
      evaluate: esVerdict(patched, since),
      ...(tap ? { tap } : {}),
      // Warnings are watched from a version read once the force is written, beside the
      // object's watch: one recorded before it (in the same second, all an event's time
      // says) is not taken for this sync's failure, and the read is off the sync's path. A
      // failure recorded before the read is still seen in the status and the last words.
      // The watch itself opens only if the sync takes longer (EVENTS_WATCH_AFTER_MS).
      events: { version: eventsVersion(client, d.namespace), notBefore: since },
      knownFailure: knownFailure(patched),
      deadline,
      timeoutMs: ctx.timeoutMs,
      describe: (obj) => describeEs(obj ?? patched),
    });
    if (!awaited.ok) return { result: [refreshFailed('eso', d, awaited.error)] };
    const synced = targetName(specOf(awaited.object), d.name);
    const after = await readAfter(client, ctx, d.namespace, synced);
    return settle(d, synced, synced === target ? pre : null, after, started);
  });
}

function notForceable(d: DerivedObject, fix: string | undefined): RefreshResult {
  const { cluster, kind, namespace, name } = d;
  return {
    status: 'not-forceable',
    cluster,
    operator: 'eso',
    kind,
    namespace,
    name,
    reason: 'ESO ignores forced syncs for this ExternalSecret',
    fix: fix ?? '',
  };
}

/**
 * A ClusterExternalSecret is forced through every ExternalSecret it provisioned, by its own
 * controller (forceCes); each child is then awaited.
 */
async function refreshClusterExternalSecret(
  client: ClusterClient,
  d: DerivedObject,
  ctx: RefreshContext,
): Promise<RefreshOutput> {
  const started = performance.now();
  const deadline = Date.now() + ctx.timeoutMs;
  const ces = await getObject(client, GVR.clusterExternalSecret, '', d.name);
  const force = specForceability((ces.spec?.externalSecretSpec ?? {}) as ExternalSecretSpec);
  if (!force.forceable) {
    return {
      result: [
        {
          status: 'not-forceable',
          cluster: d.cluster,
          operator: 'eso',
          kind: d.kind,
          namespace: '',
          name: d.name,
          reason: 'ESO ignores forced syncs for these ExternalSecrets',
          fix: force.fix ?? '',
        },
      ],
    };
  }
  const children = d.children ?? [];
  const befores = await Promise.all(children.map((c) => childBefore(client, c.namespace, c.name)));
  const value = forceValue(ctx.clock);
  const patched = await forceCes(client, d.name, value, ctx.fieldManager);
  const since = serverPatchTime(patched, ctx.fieldManager) ?? floorToSecond(ctx.clock.now());
  const outputs = await Promise.all(
    children.map(async (child, i): Promise<RefreshOutput> => {
      const before = befores[i] as Before & { es: KubeObject };
      const subject: Subject = {
        cluster: d.cluster,
        kind: 'ExternalSecret',
        namespace: child.namespace,
        name: child.name,
      };
      const propagated = (obj: KubeObject): boolean =>
        obj.metadata?.annotations?.[CES_FORCE_SYNC_ANNOTATION] === value;
      const awaited = await awaitRefresh(client, {
        gvr: GVR.externalSecret,
        namespace: child.namespace,
        name: child.name,
        resourceVersion: before.es.metadata?.resourceVersion ?? '',
        evaluate: esVerdict(before.es, since, propagated),
        events: { version: before.eventsVersion, notBefore: since },
        deadline,
        timeoutMs: ctx.timeoutMs,
        describe: (obj) =>
          obj && propagated(obj)
            ? describeEs(obj)
            : `the ClusterExternalSecret controller has not propagated ${CES_FORCE_SYNC_ANNOTATION} yet`,
      });
      if (!awaited.ok) return { result: [refreshFailed('eso', subject, awaited.error)] };
      const target = targetName(specOf(awaited.object), child.name);
      const after = await readAfter(client, ctx, child.namespace, target);
      return settle(subject, target, before.secret, after, started);
    }),
  );
  const syncedAt = new Map(outputs.flatMap((o) => [...(o.syncedAt ?? [])]));
  return { result: outputs.flatMap((o) => o.result), syncedAt };
}

/**
 * ESO 2.x copies a CES's own external-secrets.io/force-sync annotation to its children;
 * v0.16.2 copies only spec.externalSecretMetadata, and resets the annotations of a child
 * written directly before the child's sync is recorded (5 of 5 direct forces were lost
 * against the real v0.16.2). One value in both places reaches the children on either
 * version as one change, through the CES controller itself.
 */
async function forceCes(client: ClusterClient, name: string, value: string, fieldManager: string) {
  const annotations = { [CES_FORCE_SYNC_ANNOTATION]: value };
  const { group, version, plural } = GVR.clusterExternalSecret;
  try {
    return (await client.custom.patchClusterCustomObject(
      {
        group,
        version,
        plural,
        name,
        body: { metadata: { annotations }, spec: { externalSecretMetadata: { annotations } } },
        fieldManager,
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    )) as KubeObject;
  } catch (error) {
    throw kubeError(error, `patch ${plural}.${group} ${name}`);
  }
}

async function refresh(client: ClusterClient, d: DerivedObject, ctx: RefreshContext): Promise<RefreshOutput> {
  try {
    return d.kind === 'ClusterExternalSecret'
      ? await refreshClusterExternalSecret(client, d, ctx)
      : await refreshExternalSecret(client, d, ctx);
  } catch (error) {
    return { result: [refreshFailed('eso', d, error)] };
  }
}

/** An ExternalSecret changes its target; a ClusterExternalSecret, its children's targets. */
function affects(d: DerivedObject, results?: readonly RefreshResult[]): ChangedResource[] {
  if (results) return refreshedTargets(d.cluster, results);
  if (!d.forceable) return [];
  const targets =
    d.kind === 'ClusterExternalSecret'
      ? (d.children ?? []).map((c) => ({ namespace: c.namespace, name: c.targetSecret }))
      : d.targetSecret
        ? [{ namespace: d.namespace, name: d.targetSecret }]
        : [];
  return targets.map((t) => ({ cluster: d.cluster, kind: 'Secret', ...t }));
}

export const esoOperator: Operator = {
  id: 'eso',
  reads: [GVR.externalSecret, GVR.clusterExternalSecret, GVR.secretStore, GVR.clusterSecretStore],
  resolve: resolveExternalSecrets,
  refresh,
  affects,
};
