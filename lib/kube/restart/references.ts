import type { ResourceType } from './annotations.js';

/**
 * What a pod template references, and which container carries Reloader's variable for a
 * resource (handler/upgrade.go getContainerUsingResource). Structural types so both the
 * typed client models and raw watch JSON fit.
 */

interface NameRef {
  name?: string;
}

export interface ContainerLike {
  name: string;
  env?: Array<{
    name: string;
    value?: string;
    valueFrom?: { secretKeyRef?: NameRef | null; configMapKeyRef?: NameRef | null } | null;
  }> | null;
  envFrom?: Array<{ secretRef?: NameRef | null; configMapRef?: NameRef | null }> | null;
  volumeMounts?: Array<{ name: string }> | null;
}

export interface VolumeLike {
  name: string;
  secret?: { secretName?: string } | null;
  configMap?: NameRef | null;
  projected?: { sources?: Array<{ secret?: NameRef | null; configMap?: NameRef | null }> | null } | null;
  csi?: { driver?: string; volumeAttributes?: Record<string, string> | null } | null;
}

export interface PodSpecLike {
  containers?: ContainerLike[] | null;
  initContainers?: ContainerLike[] | null;
  volumes?: VolumeLike[] | null;
}

export type References = Record<ResourceType, Set<string>>;

/** Every Secret, ConfigMap and SecretProviderClass named anywhere in the pod spec. */
export function referencedResources(spec: PodSpecLike): References {
  const refs: References = { SECRET: new Set(), CONFIGMAP: new Set(), SECRETPROVIDERCLASS: new Set() };
  for (const v of spec.volumes ?? []) {
    for (const type of ['SECRET', 'CONFIGMAP', 'SECRETPROVIDERCLASS'] as const) {
      for (const name of volumeNames(v, type)) refs[type].add(name);
    }
  }
  for (const c of [...(spec.containers ?? []), ...(spec.initContainers ?? [])]) {
    for (const e of c.env ?? []) {
      addName(refs.SECRET, e.valueFrom?.secretKeyRef);
      addName(refs.CONFIGMAP, e.valueFrom?.configMapKeyRef);
    }
    for (const e of c.envFrom ?? []) {
      addName(refs.SECRET, e.secretRef);
      addName(refs.CONFIGMAP, e.configMapRef);
    }
  }
  return refs;
}

function addName(set: Set<string>, ref: NameRef | null | undefined): void {
  if (ref?.name) set.add(ref.name);
}

function volumeNames(v: VolumeLike, type: ResourceType): string[] {
  if (type === 'SECRETPROVIDERCLASS') {
    const spc = v.csi?.volumeAttributes?.secretProviderClass;
    return spc ? [spc] : [];
  }
  const direct = type === 'SECRET' ? v.secret?.secretName : v.configMap?.name;
  const projected = (v.projected?.sources ?? []).map((s) =>
    type === 'SECRET' ? s.secret?.name : s.configMap?.name,
  );
  return [direct, ...projected].filter((n): n is string => Boolean(n));
}

/**
 * The container whose env gets Reloader's variable: the one mounting the resource, else
 * the one referencing it through env/envFrom, else (only when the match came from the
 * named reload list, `auto` false) the first container. A resource used only by an init
 * container lands on the first regular container. Undefined: nothing to restart.
 */
export function containerFor(
  spec: PodSpecLike,
  type: ResourceType,
  name: string,
  auto: boolean,
): string | undefined {
  const containers = spec.containers ?? [];
  const inits = spec.initContainers ?? [];
  const first = containers[0]?.name;
  const volume = (spec.volumes ?? []).find((v) => volumeNames(v, type).includes(name))?.name;
  if (volume !== undefined) {
    const mounting = containers.find((c) => mounts(c, volume));
    if (mounting) return mounting.name;
    if (inits.some((c) => mounts(c, volume))) return first;
  }
  const referencing = containers.find((c) => envReferences(c, type, name));
  if (referencing) return referencing.name;
  if (inits.some((c) => envReferences(c, type, name))) return first;
  return auto ? undefined : first;
}

function mounts(c: ContainerLike, volume: string): boolean {
  return (c.volumeMounts ?? []).some((m) => m.name === volume);
}

function envReferences(c: ContainerLike, type: ResourceType, name: string): boolean {
  if (type === 'SECRETPROVIDERCLASS') return false;
  const key = type === 'SECRET' ? 'secretKeyRef' : 'configMapKeyRef';
  const fromKey = type === 'SECRET' ? 'secretRef' : 'configMapRef';
  return (
    (c.env ?? []).some((e) => e.valueFrom?.[key]?.name === name) ||
    (c.envFrom ?? []).some((e) => e[fromKey]?.name === name)
  );
}
