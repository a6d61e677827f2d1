import { cronJobKind } from './cronjob.js';
import { daemonSetKind } from './daemonset.js';
import { deploymentKind } from './deployment.js';
import { jobKind } from './job.js';
import { rolloutKind } from './rollout.js';
import { statefulSetKind } from './statefulset.js';
import type { WorkloadKind } from './types.js';

/** The table of workload kinds rotor restarts, in Reloader's order. */
export const WORKLOAD_KINDS: readonly WorkloadKind[] = [
  deploymentKind,
  cronJobKind,
  jobKind,
  daemonSetKind,
  statefulSetKind,
  rolloutKind,
];
