import { GVR } from '../api/gvr.js';
import type { KubeObject } from '../api/objects.js';
import type { ClusterClient } from '../cluster.js';
import {
  type ExternalSecretSpec,
  providerOf,
  type StoreKey,
  type StoreLookup,
  type StoreProvider,
  specForceability,
  specOf,
  specSelects,
  targetName,
} from './eso-match.js';
import type { DerivedChild, DerivedObject, ResolveContext } from './operator.js';

function storeLookup(stores: KubeObject[], clusterStores: KubeObject[]): (namespace: string) => StoreLookup {
  const namespaced = new Map(
    stores.map((s) => [`${s.metadata?.namespace}/${s.metadata?.name ?? ''}`, providerOf(s)]),
  );
  const cluster = new Map(clusterStores.map((s) => [s.metadata?.name ?? '', providerOf(s)]));
  return (namespace) =>
    (key: StoreKey): StoreProvider | undefined =>
      key.kind === 'ClusterSecretStore' ? cluster.get(key.name) : namespaced.get(`${namespace}/${key.name}`);
}

function owningCes(es: KubeObject): string | undefined {
  return es.metadata?.ownerReferences?.find((o) => o.kind === 'ClusterExternalSecret' && o.controller)?.name;
}

/**
 * Every ExternalSecret that reads the ref, through its default store or per-entry stores;
 * ExternalSecrets a ClusterExternalSecret provisioned are grouped under it (forced through
 * the parent, which copies only its own force-sync annotation down).
 */
export async function resolveExternalSecrets(
  client: ClusterClient,
  ctx: ResolveContext,
): Promise<DerivedObject[]> {
  const [externalSecrets, clusterExternalSecrets, stores, clusterStores] = await Promise.all([
    ctx.objects.list(GVR.externalSecret),
    ctx.objects.list(GVR.clusterExternalSecret),
    ctx.objects.list(GVR.secretStore),
    ctx.objects.list(GVR.clusterSecretStore),
  ]);
  const lookupIn = storeLookup(stores.items, clusterStores.items);
  const derived: DerivedObject[] = [];
  const childrenOf = new Map<string, { children: DerivedChild[]; warnings: Set<string> }>();
  for (const es of externalSecrets.items) {
    const ns = es.metadata?.namespace ?? '';
    const spec = specOf(es);
    const selection = specSelects(spec, lookupIn(ns), ctx.matcher);
    if (!selection.selected) continue;
    const parent = owningCes(es);
    const target = targetName(spec, es.metadata?.name ?? '');
    if (parent) {
      const group = childrenOf.get(parent) ?? { children: [], warnings: new Set<string>() };
      group.children.push({ namespace: ns, name: es.metadata?.name ?? '', targetSecret: target });
      for (const w of selection.warnings) group.warnings.add(w);
      childrenOf.set(parent, group);
      continue;
    }
    const force = specForceability(spec);
    derived.push({
      cluster: client.name,
      operator: 'eso',
      kind: 'ExternalSecret',
      namespace: ns,
      name: es.metadata?.name ?? '',
      targetSecret: target,
      warnings: [...selection.warnings, ...force.warnings],
      forceable: force.forceable,
      ...(force.fix ? { fix: force.fix } : {}),
    });
  }
  const parents = new Map(clusterExternalSecrets.items.map((ces) => [ces.metadata?.name ?? '', ces]));
  for (const [name, group] of childrenOf) {
    const ces = parents.get(name);
    if (!ces && clusterExternalSecrets.unreadable) {
      derived.push(unreadableParent(client.name, name, group, clusterExternalSecrets.unreadable));
      continue;
    }
    if (!ces) continue;
    const force = specForceability((ces.spec?.externalSecretSpec ?? {}) as ExternalSecretSpec);
    derived.push({
      cluster: client.name,
      operator: 'eso',
      kind: 'ClusterExternalSecret',
      namespace: '',
      name,
      warnings: [...group.warnings, ...force.warnings],
      forceable: force.forceable,
      ...(force.fix ? { fix: force.fix } : {}),
      children: group.children,
    });
  }
  return derived;
}

/**
 * Namespaced mode without a grant on ClusterExternalSecrets: the children in rotor's
 * namespaces are found, but the parent that must be forced cannot be read or patched.
 * Reported, never forced (a child's own force-sync annotation is the parent's to set).
 */
function unreadableParent(
  cluster: string,
  name: string,
  group: { children: DerivedChild[]; warnings: Set<string> },
  reason: string,
): DerivedObject {
  return {
    cluster,
    operator: 'eso',
    kind: 'ClusterExternalSecret',
    namespace: '',
    name,
    warnings: [...group.warnings],
    forceable: false,
    unreadable: reason,
    fix: 'bind the ClusterRole rotor-cluster-scoped (infra/k8s/namespaced/cluster-scoped.yaml) to rotor, or wait for the ClusterExternalSecret refreshInterval',
    children: group.children,
  };
}
