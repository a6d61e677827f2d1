import { RotorError } from '../../../errors.js';
import type { KubeObject } from '../../api/objects.js';
import { isRelevantAnnotation, RELOADER, ROTOR, TYPED } from '../annotations.js';
import type { TemplatePatch } from '../target.js';

/** One RFC 6902 operation. */
export type JsonPatchOp =
  | { op: 'test'; path: string; value: unknown }
  | { op: 'add'; path: string; value: unknown };

/** Workload annotations the decision reads (rules.ts, the pause): each is tested, present or absent. */
const DECISION_KEYS: readonly string[] = [
  ...Object.values(RELOADER),
  ...Object.values(ROTOR),
  ...Object.values(TYPED).flatMap((t) => Object.values(t)),
];

/**
 * The restart write of a pod-template workload as a JSON patch guarded by what the
 * decision was made from, instead of by the resourceVersion: the object's uid and
 * generation (any spec change bumps it: containers, env, template annotations, paused)
 * and the workload annotations the rules read (a missing one tested as null, which the
 * API server's JSON patch takes for absent). A status write by the workload's controller
 * changes none of them, so it no longer refuses the write (a 409 and one more round trip
 * each time a rollout was still reporting); a change that could alter the decision fails
 * a test (422) and the engine decides again on a fresh read. Positions come from the
 * object decided on: its generation pins them. Undefined when the object has no
 * generation to pin them with (the caller writes guarded by the resourceVersion).
 */
export function guardedTemplatePatch(
  obj: KubeObject,
  patch: TemplatePatch,
  extra?: { metadata?: { annotations?: Record<string, string> }; spec?: { paused?: boolean } },
): JsonPatchOp[] | undefined {
  const { uid, generation } = obj.metadata ?? {};
  if (generation === undefined || uid === undefined) return undefined;
  const ops: JsonPatchOp[] = [
    { op: 'test', path: '/metadata/uid', value: uid },
    { op: 'test', path: '/metadata/generation', value: generation },
    ...annotationGuards(obj.metadata?.annotations),
  ];
  const template = (obj.spec?.template ?? {}) as {
    metadata?: { annotations?: Record<string, string> | null };
    spec?: { containers?: Array<{ name: string; env?: Array<{ name: string }> | null }> };
  };
  const annotations = patch.metadata?.annotations ?? {};
  if (Object.keys(annotations).length > 0) {
    if (template.metadata?.annotations)
      for (const [key, value] of Object.entries(annotations))
        ops.push({ op: 'add', path: `/spec/template/metadata/annotations/${pointer(key)}`, value });
    else ops.push({ op: 'add', path: '/spec/template/metadata/annotations', value: annotations });
  }
  const containers = template.spec?.containers ?? [];
  for (const change of patch.spec?.containers ?? []) {
    const i = containers.findIndex((c) => c.name === change.name);
    if (i < 0) return undefined; // not in the object decided on: let the resourceVersion guard say so
    const at = `/spec/template/spec/containers/${i}`;
    ops.push({ op: 'test', path: `${at}/name`, value: change.name });
    const env = containers[i]?.env ?? [];
    if (env.length === 0) {
      ops.push({ op: 'add', path: `${at}/env`, value: change.env });
      continue;
    }
    for (const entry of change.env) {
      const j = env.findIndex((e) => e.name === entry.name);
      if (j < 0) ops.push({ op: 'add', path: `${at}/env/-`, value: entry });
      else
        ops.push(
          { op: 'test', path: `${at}/env/${j}/name`, value: entry.name },
          { op: 'add', path: `${at}/env/${j}/value`, value: entry.value },
        );
    }
  }
  for (const [key, value] of Object.entries(extra?.metadata?.annotations ?? {}))
    ops.push({ op: 'add', path: `/metadata/annotations/${pointer(key)}`, value });
  if (extra?.spec?.paused !== undefined)
    ops.push({ op: 'add', path: '/spec/paused', value: extra.spec.paused });
  return ops;
}

/**
 * The decision's annotations as read. Without any annotation at all the whole map is
 * tested absent (a slim copy keeps only relevant keys, so it always has a map: when the
 * object has none, the test fails and a fresh read decides).
 */
function annotationGuards(annotations: Record<string, string> | null | undefined): JsonPatchOp[] {
  if (!annotations) return [{ op: 'test', path: '/metadata/annotations', value: null }];
  const keys = new Set([...DECISION_KEYS, ...Object.keys(annotations).filter(isRelevantAnnotation)]);
  return [...keys].map((key) => ({
    op: 'test',
    path: `/metadata/annotations/${pointer(key)}`,
    value: annotations[key] ?? null,
  }));
}

/** RFC 6901: `~` and `/` escaped in one reference token. */
function pointer(token: string): string {
  return token.replaceAll('~', '~0').replaceAll('/', '~1');
}

/**
 * A guarded write the API server refused as unprocessable (422): a guard failed (the
 * workload changed in what the decision read) or the patch itself is invalid. The engine
 * decides once more on a fresh read; refused again, it is reported as the API server's
 * rejection it wraps.
 */
export class GuardRefusedError extends RotorError {
  constructor(rejection: RotorError) {
    super(rejection.code, rejection.message, rejection.retryable, {
      cause: rejection.cause,
      details: { status: 422 },
    });
  }
}
