import type { Plan } from '../app-types.js';
import type { Failure } from '../errors.js';

/** `rotor plan`: its text, and its exit rule. */

/** Every cluster read and every workload planned; otherwise `rotor plan` exits 1. */
export function planComplete(plan: Plan): boolean {
  return plan.clusters.every((c) => !c.error && c.workloads.every((w) => !w.error));
}

export function formatPlan(plan: Plan): string {
  const lines = [`plan for ${plan.ref} (nothing written)`];
  for (const c of plan.clusters) {
    lines.push(`cluster ${c.cluster}${c.error ? `: FAILED ${failureText(c.error)}` : ''}`);
    for (const d of c.derived) {
      const target = d.targetSecret ? ` -> Secret ${d.targetSecret}` : '';
      lines.push(
        `  ${d.operator} ${d.kind} ${d.namespace}/${d.name}${target}${d.warnings.map((w) => `\n    ! ${w}`).join('')}`,
      );
    }
    for (const w of c.workloads)
      lines.push(
        `  restart ${w.kind} ${w.namespace}/${w.name}: ${w.action}${w.reason ? ` (${w.reason})` : ''}${w.error ? ` ${failureText(w.error)}` : ''}`,
      );
    if (c.derived.length === 0 && !c.error) lines.push('  nothing derives from this secret here');
  }
  const failed = plan.clusters.filter((c) => c.error).length;
  if (failed > 0) lines.push(`incomplete: ${failed} of ${plan.clusters.length} clusters could not be read`);
  const workloads = plan.clusters.flatMap((c) => c.workloads).filter((w) => w.error).length;
  if (workloads > 0) lines.push(`incomplete: ${workloads} workloads could not be planned`);
  return lines.join('\n');
}

/** A failure in the text output: its stable code first (what to grep for), then the message. */
function failureText(f: Failure): string {
  return `[${f.code}${f.retryable ? ', retryable' : ''}] ${f.message}`;
}
