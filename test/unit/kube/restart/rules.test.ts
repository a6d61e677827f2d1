import { describe, expect, it } from 'vitest';
import { type RuleInput, shouldReload } from '../../../../lib/kube/restart/rules.js';

type Case = {
  name: string;
  kind?: string;
  type?: RuleInput['resource']['type'];
  resourceName?: string;
  resource?: Record<string, string>;
  workload?: Record<string, string>;
  template?: Record<string, string>;
  autoReloadAll?: boolean;
  ignored?: string[];
  expected: { reload: true; auto: boolean; via: string } | { reload: false; reason: RegExp };
  warning?: RegExp;
};

const cases: Case[] = [
  {
    name: 'auto "true" on the workload',
    workload: { 'reloader.stakater.com/auto': 'true' },
    expected: { reload: true, auto: true, via: 'auto' },
  },
  {
    name: 'auto accepts Go ParseBool spellings ("1", "t", "True")',
    workload: { 'reloader.stakater.com/auto': 'True' },
    expected: { reload: true, auto: true, via: 'auto' },
  },
  {
    name: 'auto "yes" is not a Go bool',
    workload: { 'reloader.stakater.com/auto': 'yes' },
    expected: { reload: false, reason: /auto annotation is not "true"/ },
  },
  {
    name: 'typed auto for the right type',
    workload: { 'secret.reloader.stakater.com/auto': '1' },
    expected: { reload: true, auto: true, via: 'auto' },
  },
  {
    name: 'typed auto for another type does nothing',
    workload: { 'configmap.reloader.stakater.com/auto': 'true' },
    expected: { reload: false, reason: /not opted in/ },
  },
  { name: 'no annotation at all', expected: { reload: false, reason: /not opted in/ } },
  {
    name: 'auto-reload-all without annotations',
    autoReloadAll: true,
    expected: { reload: true, auto: true, via: 'auto-reload-all' },
  },
  {
    name: 'auto-reload-all is switched off by auto "false"',
    autoReloadAll: true,
    workload: { 'reloader.stakater.com/auto': 'false' },
    expected: { reload: false, reason: /auto annotation/ },
  },
  {
    name: 'pod-template annotations are read when the workload has no opt-in key',
    template: { 'reloader.stakater.com/auto': 'true' },
    expected: { reload: true, auto: true, via: 'auto' },
  },
  {
    name: 'pod-template annotations are ignored when the workload has one opt-in key',
    workload: { 'reloader.stakater.com/search': 'false' },
    template: { 'reloader.stakater.com/auto': 'true' },
    expected: { reload: false, reason: /not opted in/ },
  },
  {
    name: 'named reload list matches an item exactly (anchored)',
    workload: { 'secret.reloader.stakater.com/reload': 'other, db ' },
    expected: { reload: true, auto: false, via: 'reload-list' },
  },
  {
    name: 'named reload list is anchored: "d" does not match "db"',
    workload: { 'secret.reloader.stakater.com/reload': 'd' },
    expected: { reload: false, reason: /does not match/ },
  },
  {
    name: 'named reload list takes regular expressions',
    workload: { 'secret.reloader.stakater.com/reload': 'd.*' },
    expected: { reload: true, auto: false, via: 'reload-list' },
  },
  {
    name: 'an invalid regex is skipped with a warning and the next item still matches',
    workload: { 'secret.reloader.stakater.com/reload': '(unclosed, db' },
    expected: { reload: true, auto: false, via: 'reload-list' },
    warning: /invalid regular expression "\(unclosed"/,
  },
  // Reloader compiles each item with Go's regexp (RE2): these behave as there, not as in JavaScript.
  {
    name: 'RE2: a POSIX class in a reload list matches ([[:digit:]])',
    resourceName: 'posix-42',
    workload: { 'secret.reloader.stakater.com/reload': 'posix-[[:digit:]]+' },
    expected: { reload: true, auto: false, via: 'reload-list' },
  },
  {
    name: 'RE2: a Unicode class without braces matches (\\pL)',
    resourceName: 'uc-db',
    workload: { 'secret.reloader.stakater.com/reload': 'uc-\\pL+' },
    expected: { reload: true, auto: false, via: 'reload-list' },
  },
  {
    name: 'RE2: an inline flag group is valid and applies ((?i))',
    resourceName: 'case-db',
    workload: { 'secret.reloader.stakater.com/reload': '(?i)CASE-.*' },
    expected: { reload: true, auto: false, via: 'reload-list' },
  },
  {
    name: 'RE2: \\d is ASCII only, as in Go',
    resourceName: 'n-\u0661',
    workload: { 'secret.reloader.stakater.com/reload': 'n-\\d' },
    expected: { reload: false, reason: /does not match/ },
  },
  {
    name: 'RE2: look-ahead is not Go syntax: skipped with a warning',
    workload: { 'secret.reloader.stakater.com/reload': 'd(?=b)b' },
    expected: { reload: false, reason: /does not match/ },
    warning: /invalid regular expression "d\(\?=b\)b"/,
  },
  {
    name: 'RE2: alternation keeps Go precedence inside ^...$ ("x|db" matches "db")',
    workload: { 'secret.reloader.stakater.com/reload': 'x|db' },
    expected: { reload: true, auto: false, via: 'reload-list' },
  },
  {
    name: 'the configmap list does not apply to a Secret',
    workload: { 'configmap.reloader.stakater.com/reload': 'db' },
    expected: { reload: false, reason: /not opted in/ },
  },
  {
    name: 'search restarts for a Secret marked match',
    workload: { 'reloader.stakater.com/search': 'true' },
    resource: { 'reloader.stakater.com/match': 'true' },
    expected: { reload: true, auto: true, via: 'search' },
  },
  {
    name: 'search without match on the Secret',
    workload: { 'reloader.stakater.com/search': 'true' },
    expected: { reload: false, reason: /lacks reloader.stakater.com\/match/ },
  },
  {
    name: 'search is exact "true" (ParseBool not used)',
    workload: { 'reloader.stakater.com/search': 'True' },
    resource: { 'reloader.stakater.com/match': 'true' },
    expected: { reload: false, reason: /not opted in/ },
  },
  {
    name: 'ignore on the Secret beats auto',
    workload: { 'reloader.stakater.com/auto': 'true' },
    resource: { 'reloader.stakater.com/ignore': 'true' },
    expected: { reload: false, reason: /carries reloader.stakater.com\/ignore/ },
  },
  {
    name: 'ignore must be exactly "true"',
    workload: { 'reloader.stakater.com/auto': 'true' },
    resource: { 'reloader.stakater.com/ignore': 'TRUE' },
    expected: { reload: true, auto: true, via: 'auto' },
  },
  {
    name: 'ignore beats the named reload list',
    workload: { 'secret.reloader.stakater.com/reload': 'db' },
    resource: { 'reloader.stakater.com/ignore': 'true' },
    expected: { reload: false, reason: /ignore/ },
  },
  {
    name: 'exclude list (exact names) beats the named reload list',
    workload: {
      'secret.reloader.stakater.com/reload': 'db',
      'secrets.exclude.reloader.stakater.com/reload': 'x, db',
    },
    expected: { reload: false, reason: /listed in secrets.exclude/ },
  },
  {
    name: 'exclude list is exact, not a regex',
    workload: { 'reloader.stakater.com/auto': 'true', 'secrets.exclude.reloader.stakater.com/reload': 'd.*' },
    expected: { reload: true, auto: true, via: 'auto' },
  },
  {
    name: 'exclude list is read from the workload only, not the template',
    workload: { 'reloader.stakater.com/auto': 'true' },
    template: { 'secrets.exclude.reloader.stakater.com/reload': 'db' },
    expected: { reload: true, auto: true, via: 'auto' },
  },
  {
    name: 'the named list wins over search (order of evaluation)',
    workload: { 'secret.reloader.stakater.com/reload': 'db', 'reloader.stakater.com/search': 'true' },
    resource: { 'reloader.stakater.com/match': 'true' },
    expected: { reload: true, auto: false, via: 'reload-list' },
  },
  {
    name: 'ignored workload type cronjobs',
    kind: 'CronJob',
    ignored: ['cronjobs'],
    workload: { 'reloader.stakater.com/auto': 'true' },
    expected: { reload: false, reason: /cronjobs is ignored/ },
  },
  {
    name: 'ignored workload types do not touch Deployments',
    kind: 'Deployment',
    ignored: ['jobs', 'cronjobs'],
    workload: { 'reloader.stakater.com/auto': 'true' },
    expected: { reload: true, auto: true, via: 'auto' },
  },
  {
    name: 'an invalid ignored type disables the whole list, with a warning',
    kind: 'Job',
    ignored: ['jobs', 'deployments'],
    workload: { 'reloader.stakater.com/auto': 'true' },
    expected: { reload: true, auto: true, via: 'auto' },
    warning: /not "deployments"/,
  },
  {
    name: 'ConfigMap typed list',
    type: 'CONFIGMAP',
    resourceName: 'app-config',
    workload: { 'configmap.reloader.stakater.com/reload': 'app-config' },
    expected: { reload: true, auto: false, via: 'reload-list' },
  },
  {
    name: 'SecretProviderClass typed auto',
    type: 'SECRETPROVIDERCLASS',
    resourceName: 'kv',
    workload: { 'secretproviderclass.reloader.stakater.com/auto': 'true' },
    expected: { reload: true, auto: true, via: 'auto' },
  },
  {
    name: 'SecretProviderClass exclude list',
    type: 'SECRETPROVIDERCLASS',
    resourceName: 'kv',
    workload: {
      'reloader.stakater.com/auto': 'true',
      'secretproviderclasses.exclude.reloader.stakater.com/reload': 'kv',
    },
    expected: { reload: false, reason: /excl/ },
  },
];

describe('shouldReload (Reloader ShouldReload)', () => {
  for (const c of cases) {
    it(c.name, () => {
      const decision = shouldReload({
        workloadKind: c.kind ?? 'Deployment',
        resource: { type: c.type ?? 'SECRET', name: c.resourceName ?? 'db', annotations: c.resource ?? {} },
        workloadAnnotations: c.workload ?? {},
        templateAnnotations: c.template ?? {},
        options: { autoReloadAll: c.autoReloadAll ?? false, ignoredWorkloadTypes: c.ignored ?? [] },
      });
      if (c.expected.reload) {
        expect(decision).toMatchObject({ reload: true, auto: c.expected.auto, via: c.expected.via });
      } else {
        expect(decision.reload).toBe(false);
        expect(decision.reload === false && decision.reason).toMatch(c.expected.reason);
      }
      if (c.warning) expect(decision.warnings.join('\n')).toMatch(c.warning);
      else expect(decision.warnings).toEqual([]);
    });
  }
});
