import type { Config } from '../config.js';
import { type Outcome, rolloutOf } from '../outcome.js';
import { rolloutText, undoText } from '../rollout-text.js';
import { refreshInWords, stepInWords } from './plain-words.js';

/** Human text for `rotor` commands; the JSON form of each is the object itself. */

export function formatOutcome(outcome: Outcome): string {
  return [
    `${outcome.ref}: ${outcome.status}${outcome.dryRun ? ' (dry run)' : ''}`,
    ...stepLines(outcome),
    ...outcome.clusterFailures.map((c) => `  cluster ${c.cluster}: ${c.error.message}`),
    ...(outcome.undo ? [`  ${undoText(outcome.undo)}`] : []),
  ].join('\n');
}

/** The timeline and the per-object results, of an outcome or of a run still in progress. */
export function stepLines(steps: Pick<Outcome, 'timeline' | 'refreshes' | 'workloads'>): string[] {
  return [
    ...steps.timeline.map((t) => `  ${String(t.atMs).padStart(6)} ms  ${stepInWords(t.step, t.detail)}`),
    ...steps.refreshes.map(
      (r) => `  refresh ${r.cluster} ${r.kind} ${r.namespace}/${r.name}: ${refreshInWords(r)}`,
    ),
    ...steps.workloads.map(
      (w) =>
        `  workload ${w.cluster} ${w.kind} ${w.namespace}/${w.name}: ${w.status}${'reason' in w ? ` (${w.reason})` : ''}${'error' in w ? ` (${w.error.message})` : ''}${rolloutOf(w) ? `, ${rolloutText(rolloutOf(w))}` : ''}`,
    ),
  ];
}

/** What `rotor config check` understood: names and choices, never a credential. */
export function configSummary(config: Config, missing: string[]) {
  return {
    ok: missing.length === 0,
    missing,
    keyVaults: config.keyVaults.map((k) => ({ name: k.name, url: k.url, rotate: k.rotate })),
    vaults: config.vaults.map((v) => ({
      name: v.name,
      address: v.address,
      mounts: v.mounts.map((m) => m.path),
      auth: v.auth?.method ?? 'none',
    })),
    clusters: config.clusters.map((c) => ({
      name: c.name,
      source: c.aks ? 'aks' : c.kubeconfig ? 'kubeconfig' : 'inline kubeconfig',
      ...(c.context ? { context: c.context } : {}),
    })),
    restart: { strategy: config.restart.strategy, coalesceWindowMs: config.restart.coalesceWindowMs },
    rotation: { schedule: config.rotation.schedule },
    state: config.state.connectionString
      ? 'connection string'
      : (config.state.accountUrl ?? 'not configured'),
    webhookAuth: config.webhook.bearerToken ? 'bearer token' : config.webhook.hmacSecret ? 'HMAC' : 'none',
    notifications: config.notifications.map((n) => n.kind),
  };
}

export function describeConfig(config: Config, missing: string[] = []): string {
  return [
    `key vaults (${config.keyVaults.length}): ${config.keyVaults.map((k) => `${k.name}${k.rotate ? ' [rotate]' : ''}`).join(', ') || 'none'}`,
    `vaults (${config.vaults.length}): ${config.vaults.map((v) => `${v.name}=${v.address} mounts ${v.mounts.map((m) => m.path).join('/')}`).join(', ') || 'none'}`,
    `clusters (${config.clusters.length}): ${config.clusters.map((c) => c.name).join(', ') || 'none'}`,
    `restart: strategy ${config.restart.strategy}, coalesce ${config.restart.coalesceWindowMs} ms${config.restart.dryRun ? ', dry run' : ''}`,
    `rotation: schedule "${config.rotation.schedule}", near-expiry window ${config.rotation.nearExpiryWindowDays} d`,
    `state: ${config.state.connectionString ? 'connection string' : (config.state.accountUrl ?? 'not configured (set AzureWebJobsStorage or ROTOR_STATE_CONNECTION_STRING)')}`,
    `vault audit webhook auth: ${config.webhook.bearerToken ? 'bearer token' : config.webhook.hmacSecret ? 'HMAC' : 'none (every request refused; set ROTOR_WEBHOOK_TOKEN or ROTOR_WEBHOOK_HMAC_SECRET)'}`,
    `notifications: ${config.notifications.map((n) => n.kind).join(', ') || 'none'}`,
    ...missing.map((m) => `MISSING: ${m}`),
  ].join('\n');
}
