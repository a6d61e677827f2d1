import { describe, expect, it } from 'vitest';
import type { Plan } from '../../../lib/app-types.js';
import { formatPlan, planComplete } from '../../../lib/cli/plan.js';

const API = { kind: 'Deployment', namespace: 'app', name: 'api' };
const read: Plan['clusters'][number] = {
  cluster: 'alpha',
  derived: [{ operator: 'eso', kind: 'ExternalSecret', namespace: 'app', name: 'db', warnings: [] }],
  workloads: [{ ...API, action: 'restart' }],
};
const unreachable: Plan['clusters'][number] = {
  cluster: 'beta',
  error: { code: 'transient', message: 'list externalsecrets: connect ECONNREFUSED', retryable: true },
  derived: [],
  workloads: [],
};
const refusing: Plan['clusters'][number] = {
  cluster: 'gamma',
  error: { code: 'forbidden', message: 'forbidden: list externalsecrets', retryable: false },
  derived: [],
  workloads: [],
};

describe('rotor plan: text and exit rule', () => {
  it('prints a cluster failure with its code (and whether a retry may help) before the message', () => {
    const text = formatPlan({ ref: 'azure-keyvault:kv/db', clusters: [read, unreachable, refusing] });

    expect(text.split('\n')).toEqual([
      'plan for azure-keyvault:kv/db (nothing written)',
      'cluster alpha',
      '  eso ExternalSecret app/db',
      '  restart Deployment app/api: restart',
      'cluster beta: FAILED [transient, retryable] list externalsecrets: connect ECONNREFUSED',
      'cluster gamma: FAILED [forbidden] forbidden: list externalsecrets',
      'incomplete: 2 of 3 clusters could not be read',
    ]);
  });

  it('prints a workload that could not be planned with its code', () => {
    const error = { code: 'forbidden', message: 'forbidden: get deployments', retryable: false };
    const plan = { ref: 'r', clusters: [{ ...read, workloads: [{ ...API, action: 'failed', error }] }] };

    expect(formatPlan(plan)).toContain(
      '  restart Deployment app/api: failed [forbidden] forbidden: get deployments\nincomplete: 1 workloads could not be planned',
    );
  });

  it('is complete only when every cluster was read and every workload planned', () => {
    const error = { code: 'conflict', message: 'x', retryable: true };

    expect(planComplete({ ref: 'r', clusters: [read] })).toBe(true);
    expect(planComplete({ ref: 'r', clusters: [read, unreachable] })).toBe(false);
    expect(planComplete({ ref: 'r', clusters: [refusing] })).toBe(false);
    expect(
      planComplete({ ref: 'r', clusters: [{ ...read, workloads: [{ ...API, action: 'failed', error }] }] }),
    ).toBe(false);
  });
});
