import { describe, expect, it } from 'vitest';
import { jobFromCronJob } from '../../../../lib/kube/restart/kinds/cronjob.js';
import { recreatedJob } from '../../../../lib/kube/restart/kinds/job.js';
import type { ReloadTarget } from '../../../../lib/kube/restart/target.js';

const target: ReloadTarget = { type: 'SECRET', name: 'db', namespace: 'shop', hash: 'abc', container: 'c' };

describe('jobFromCronJob', () => {
  const cron = {
    metadata: { name: 'nightly-report', namespace: 'shop', uid: 'uid-1' },
    spec: {
      jobTemplate: {
        metadata: { labels: { app: 'report' }, annotations: { note: 'x' } },
        spec: {
          backoffLimit: 2,
          template: { spec: { containers: [{ name: 'c' }], restartPolicy: 'Never' } },
        },
      },
    },
  };

  it('marks the Job as manually instantiated and owned by the CronJob (controller reference)', () => {
    const job = jobFromCronJob(cron, { spec: { containers: [{ name: 'c' }] } }, [target]);
    expect(job.metadata.annotations).toEqual({ 'cronjob.kubernetes.io/instantiate': 'manual', note: 'x' });
    expect(job.metadata.labels).toEqual({ app: 'report' });
    expect(job.metadata.ownerReferences).toEqual([
      {
        apiVersion: 'batch/v1',
        kind: 'CronJob',
        name: 'nightly-report',
        uid: 'uid-1',
        controller: true,
        blockOwnerDeletion: true,
      },
    ]);
    expect(job.spec.backoffLimit).toBe(2);
  });

  it('names the Job after the hashes: same hashes, same name; other hashes, other name; at most 63 characters', () => {
    const a = jobFromCronJob(cron, {}, [target]).metadata.name;
    expect(jobFromCronJob(cron, {}, [target]).metadata.name).toBe(a);
    expect(jobFromCronJob(cron, {}, [{ ...target, hash: 'def' }]).metadata.name).not.toBe(a);
    expect(a).toMatch(/^nightly-report-[0-9a-f]{10}$/);
    const long = { ...cron, metadata: { ...cron.metadata, name: 'x'.repeat(52) } };
    expect(jobFromCronJob(long, {}, [target]).metadata.name).toHaveLength(63);
  });
});

describe('recreatedJob', () => {
  const job = {
    metadata: {
      name: 'migrate',
      namespace: 'shop',
      uid: 'old-uid',
      resourceVersion: '7',
      labels: { app: 'm', 'batch.kubernetes.io/controller-uid': 'old-uid', 'controller-uid': 'old-uid' },
    },
    spec: {
      selector: { matchLabels: { 'batch.kubernetes.io/controller-uid': 'old-uid' } },
      template: {
        metadata: {
          labels: {
            app: 'm',
            'batch.kubernetes.io/controller-uid': 'old-uid',
            'job-name': 'migrate',
            'batch.kubernetes.io/job-name': 'migrate',
          },
        },
        spec: { containers: [{ name: 'c' }] },
      },
    },
    status: { succeeded: 1 },
  };

  it('drops the generated selector, uid-derived labels, status and identity so the API server makes new ones', () => {
    const body = recreatedJob(job, job.spec.template);
    expect(body.spec.selector).toBeUndefined();
    expect(body.spec.template.metadata?.labels).toEqual({ app: 'm' });
    expect(body.metadata).toEqual({
      name: 'migrate',
      namespace: 'shop',
      labels: { app: 'm' },
      annotations: undefined,
      ownerReferences: undefined,
    });
    expect(body).not.toHaveProperty('status');
  });

  it('keeps a manual selector and its labels', () => {
    const manual = { ...job, spec: { ...job.spec, manualSelector: true } };
    const body = recreatedJob(manual, manual.spec.template);
    expect(body.spec.selector).toEqual(job.spec.selector);
    expect(body.spec.template.metadata?.labels).toEqual(job.spec.template.metadata.labels);
  });
});
