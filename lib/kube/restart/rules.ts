import {
  compileReloadList,
  parseGoBool,
  RELOADER,
  type ResourceType,
  splitList,
  TYPED,
} from './annotations.js';

/**
 * Reloader's reload decision (pkg/common ShouldReload), as one pure function. Order:
 * ignored workload kind → resource ignore → exclude list → named reload regex →
 * search + match → auto / typed auto / auto-reload-all. A `reload: true` decision still
 * needs a container to carry the change (see references.ts); `auto` says whether the
 * fallback to the first container is allowed (it is only for the named list).
 */

export type Annotations = Readonly<Record<string, string>>;

export interface RuleInput {
  workloadKind: string;
  resource: { type: ResourceType; name: string; annotations: Annotations };
  workloadAnnotations: Annotations;
  templateAnnotations: Annotations;
  options: { autoReloadAll: boolean; ignoredWorkloadTypes: readonly string[] };
}

export type ReloadVia = 'reload-list' | 'search' | 'auto' | 'auto-reload-all';

export type RuleDecision =
  | { reload: true; auto: boolean; via: ReloadVia; warnings: string[] }
  | { reload: false; reason: string; warnings: string[] };

const IGNORABLE_KINDS: Record<string, string> = { Job: 'jobs', CronJob: 'cronjobs' };

export function shouldReload(input: RuleInput): RuleDecision {
  const warnings: string[] = [];
  const ignored = ignoredKindReason(input, warnings);
  if (ignored) return { reload: false, reason: ignored, warnings };

  const { resource } = input;
  const typed = TYPED[resource.type];
  if (resource.annotations[RELOADER.ignore] === 'true') {
    return { reload: false, reason: `${label(resource)} carries ${RELOADER.ignore}: "true"`, warnings };
  }
  // Reloader reads the exclude list from the workload itself, never from the pod template.
  const exclude = input.workloadAnnotations[typed.exclude];
  if (exclude !== undefined && splitList(exclude).includes(resource.name)) {
    return { reload: false, reason: `${label(resource)} is listed in ${typed.exclude}`, warnings };
  }

  const source = optInSource(input);
  const { patterns, invalid } = compileReloadList(source[typed.reload] ?? '');
  for (const item of invalid)
    warnings.push(`invalid regular expression "${item}" in ${typed.reload} skipped`);
  if (patterns.some((re) => re.test(resource.name)))
    return { reload: true, auto: false, via: 'reload-list', warnings };

  if (source[RELOADER.search] === 'true' && resource.annotations[RELOADER.match] === 'true') {
    return { reload: true, auto: true, via: 'search', warnings };
  }

  const auto = source[RELOADER.auto] ?? '';
  const typedAuto = source[typed.auto] ?? '';
  if (parseGoBool(auto) || parseGoBool(typedAuto)) return { reload: true, auto: true, via: 'auto', warnings };
  if (auto === '' && typedAuto === '' && input.options.autoReloadAll) {
    return { reload: true, auto: true, via: 'auto-reload-all', warnings };
  }
  return { reload: false, reason: notOptedInReason(source, resource, typed), warnings };
}

/** Reloader accepts only `jobs` and `cronjobs`; one invalid entry disables the whole list. */
function ignoredKindReason(input: RuleInput, warnings: string[]): string | undefined {
  const list = input.options.ignoredWorkloadTypes;
  if (list.length === 0) return undefined;
  const invalid = list.find((v) => v !== 'jobs' && v !== 'cronjobs');
  if (invalid !== undefined) {
    warnings.push(
      `ignoredWorkloadTypes accepts "jobs" and "cronjobs", not "${invalid}"; the list is not applied`,
    );
    return undefined;
  }
  const name = IGNORABLE_KINDS[input.workloadKind];
  return name && list.includes(name) ? `workload type ${name} is ignored (ignoredWorkloadTypes)` : undefined;
}

/** The workload's own annotations, or the pod template's when the workload has none of the opt-in keys. */
function optInSource(input: RuleInput): Annotations {
  const typed = TYPED[input.resource.type];
  const own = input.workloadAnnotations;
  const keys = [typed.reload, RELOADER.auto, typed.auto, RELOADER.search];
  return keys.some((k) => k in own) ? own : input.templateAnnotations;
}

function notOptedInReason(
  source: Annotations,
  resource: RuleInput['resource'],
  typed: (typeof TYPED)[ResourceType],
) {
  if (source[RELOADER.search] === 'true')
    return `${label(resource)} lacks ${RELOADER.match}: "true" required by search`;
  if (source[RELOADER.auto] !== undefined || source[typed.auto] !== undefined)
    return 'auto annotation is not "true"';
  if (source[typed.reload] !== undefined) return `${label(resource)} does not match ${typed.reload}`;
  return `not opted in: no ${RELOADER.auto}, ${typed.auto}, ${typed.reload} or ${RELOADER.search} annotation`;
}

function label(resource: RuleInput['resource']): string {
  const kind = { SECRET: 'Secret', CONFIGMAP: 'ConfigMap', SECRETPROVIDERCLASS: 'SecretProviderClass' }[
    resource.type
  ];
  return `${kind} ${resource.name}`;
}
