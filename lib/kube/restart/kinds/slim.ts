import type { KubeObject } from '../../api/objects.js';
import { isRelevantAnnotation } from '../annotations.js';
import type { ContainerLike, PodSpecLike, VolumeLike } from '../references.js';

/**
 * The part of a pod-template workload that rotor's rules and strategies read, copied out
 * of a watched object so the index can keep it for thousands of workloads at a fraction
 * of the object's size: identity, generation and resourceVersion, the Reloader/rotor
 * annotations, and per container the names and references that decide where a variable
 * goes, every variable's name in its place, and the STAKATER_* variables' values. A
 * write made from it is guarded by what the decision read (guarded-patch.ts), so a
 * stale copy costs one refused write and a fresh read, never a wrong write.
 */
export function slimPodTemplateWorkload(obj: KubeObject): KubeObject {
  const template = obj.spec?.template ?? {};
  return {
    metadata: {
      name: obj.metadata?.name,
      namespace: obj.metadata?.namespace,
      uid: obj.metadata?.uid,
      resourceVersion: obj.metadata?.resourceVersion,
      generation: obj.metadata?.generation,
      annotations: relevant(obj.metadata?.annotations),
    },
    spec: {
      ...(obj.spec?.paused !== undefined ? { paused: obj.spec.paused } : {}),
      template: {
        metadata: { annotations: relevant(template.metadata?.annotations) },
        spec: slimSpec(template.spec ?? {}),
      },
    },
  };
}

function relevant(annotations: Record<string, string> | null | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(annotations ?? {}).filter(([k]) => isRelevantAnnotation(k)));
}

function slimSpec(spec: PodSpecLike): PodSpecLike {
  return {
    containers: (spec.containers ?? []).map(slimContainer),
    initContainers: (spec.initContainers ?? []).map(slimContainer),
    volumes: (spec.volumes ?? []).filter(refersToResource).map(slimVolume),
  };
}

function slimContainer(c: ContainerLike): ContainerLike {
  // Every entry keeps its name and place: a guarded write (guarded-patch.ts) addresses
  // a variable by its position. Values only where rotor reads them.
  const env = (c.env ?? []).map((e) =>
    !e.name.startsWith('STAKATER_') && !e.valueFrom?.secretKeyRef && !e.valueFrom?.configMapKeyRef
      ? { name: e.name }
      : e.valueFrom
        ? {
            name: e.name,
            valueFrom: {
              secretKeyRef: e.valueFrom.secretKeyRef ? { name: e.valueFrom.secretKeyRef.name } : undefined,
              configMapKeyRef: e.valueFrom.configMapKeyRef
                ? { name: e.valueFrom.configMapKeyRef.name }
                : undefined,
            },
          }
        : { name: e.name, value: e.value },
  );
  const envFrom = (c.envFrom ?? []).map((e) => ({
    secretRef: e.secretRef ? { name: e.secretRef.name } : undefined,
    configMapRef: e.configMapRef ? { name: e.configMapRef.name } : undefined,
  }));
  return { name: c.name, env, envFrom, volumeMounts: (c.volumeMounts ?? []).map((m) => ({ name: m.name })) };
}

function refersToResource(v: VolumeLike): boolean {
  return Boolean(v.secret || v.configMap || v.projected || v.csi?.volumeAttributes?.secretProviderClass);
}

function slimVolume(v: VolumeLike): VolumeLike {
  return {
    name: v.name,
    ...(v.secret ? { secret: { secretName: v.secret.secretName } } : {}),
    ...(v.configMap ? { configMap: { name: v.configMap.name } } : {}),
    ...(v.projected
      ? {
          projected: {
            sources: (v.projected.sources ?? []).map((s) => ({
              secret: s.secret ? { name: s.secret.name } : undefined,
              configMap: s.configMap ? { name: s.configMap.name } : undefined,
            })),
          },
        }
      : {}),
    ...(v.csi?.volumeAttributes?.secretProviderClass
      ? { csi: { volumeAttributes: { secretProviderClass: v.csi.volumeAttributes.secretProviderClass } } }
      : {}),
  };
}
