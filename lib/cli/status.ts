import type { App } from '../app-types.js';
import type { Config } from '../config.js';
import { ConfigError } from '../errors.js';
import { runsOf } from '../intake/run-status.js';
import { rolloutOf } from '../outcome.js';
import type { RunProgress } from '../run-progress.js';
import type { RunStatus } from '../run-status.js';
import { formatOutcome, stepLines } from './format.js';

/** Without a state store there is nothing to read: a configuration mistake (exit 2). */
export function requireStateStore(config: Config): Config {
  if (config.state.connectionString || config.state.accountUrl) return config;
  throw new ConfigError([
    'rotor status reads the state store: set AzureWebJobsStorage, ROTOR_STATE_CONNECTION_STRING or ROTOR_STATE_ACCOUNT_URL as the host has it',
  ]);
}

/** `rotor status <event id>`: the deliveries the state store records, and the exit code (0 fine, 1 failed or unknown). */
export async function statusOf(app: App, eventId: string): Promise<{ runs: RunStatus[]; code: number }> {
  const runs = await runsOf(app, eventId);
  return { runs, code: runs.every(healthy) ? 0 : 1 };
}

/** In progress, or completed with nothing failed (rotor's run, and every rollout followed so far). */
function healthy(run: RunStatus): boolean {
  if (run.state === 'abandoned') return false;
  const outcome = run.outcome;
  if (!outcome) return true;
  if (outcome.status === 'failed' || outcome.status === 'partial') return false;
  return !outcome.workloads.some((w) => rolloutOf(w)?.status === 'rollout-failed');
}

export function formatStatus(runs: RunStatus[]): string {
  return runs.map(formatRun).join('\n\n');
}

function formatRun(run: RunStatus): string {
  const by = run.claimedBy ? ` by ${run.claimedBy}` : '';
  const since = run.claimedAt ? ` at ${run.claimedAt}` : '';
  const head = `event ${run.eventId} (${run.source})`;
  switch (run.state) {
    case 'in-progress':
      return `${head}: in progress, claimed${by}${since}; the claim is renewed while the run lives (expires ${run.expiresAt} otherwise)${progressText(run.progress)}`;
    case 'abandoned':
      return `${head}: abandoned, claimed${by}${since} and not renewed since ${run.expiresAt}: that instance stopped; the next delivery takes it over${progressText(run.progress)}`;
    case 'completed': {
      const rollouts =
        run.rollouts === 'following'
          ? '\n  rollouts: still being followed'
          : run.rollouts === 'ended'
            ? '\n  rollouts: every one ended'
            : '';
      const outcome = run.outcome ? `\n${indent(formatOutcome(run.outcome))}` : '';
      return `${head}: completed at ${run.completedAt ?? '?'}, claimed${by}${since}${rollouts}${outcome}`;
    }
  }
}

/** The steps a run in progress had finished at its last write. */
function progressText(progress: RunProgress | undefined): string {
  if (!progress) return '';
  const omitted = progress.omitted
    ? [`  (${progress.omitted.refreshes} refreshes and ${progress.omitted.workloads} workloads more)`]
    : [];
  return `\n  finished so far:\n${indent([...stepLines(progress), ...omitted].join('\n'))}`;
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((line) => `  ${line}`)
    .join('\n');
}
