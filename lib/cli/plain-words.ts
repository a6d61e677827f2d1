import type { Outcome } from '../outcome.js';

/**
 * Outcome fields in words a newcomer reads without the source at hand: the CLI, the demo
 * and the sandbox print these instead of the raw status names (`restart-only`, `2 derived`).
 */
type Refresh = Outcome['refreshes'][number];

export function refreshInWords(r: Refresh): string {
  switch (r.status) {
    case 'refreshed':
      return r.secretChanged ? 'synced now, Secret updated' : 'synced now, Secret already held the new data';
    case 'restart-only':
      return 'the CSI driver cannot be forced; restarting the pods is the refresh';
    case 'not-forceable':
      return `cannot be forced (${r.reason}); ${r.fix}`;
    case 'failed':
      return `FAILED: ${r.error.message}`;
    default:
      return (r as { status: string }).status;
  }
}

const STEPS: Record<string, string> = {
  received: 'event received',
  rotated: 'new version written',
  resolved: 'found what reads the secret',
  'refresh-forced': 'operators told to sync',
  'secret-updated': 'Kubernetes Secrets updated',
  'workloads-patched': 'workloads restarted',
  done: 'done',
  'rolled-out': 'rollouts ended (new pods Ready)',
};

/** A timeline step and its detail: `resolved alpha: 2 derived` -> `found what reads the secret  alpha: 2 objects read this secret (...)`. */
export function stepInWords(step: string, detail: string | undefined): string {
  const words = STEPS[step] ?? step;
  const plain = detail
    ?.replace(
      /(\d+) derived/,
      (_m, n: string) =>
        `${n} object${n === '1' ? ' reads' : 's read'} this secret (ExternalSecret, VaultStaticSecret or SecretProviderClass)`,
    )
    .replace(/^(\S+): (\d+)$/, (m, c: string, n: string) =>
      step === 'workloads-patched' ? `${c}: ${n} restarted` : m,
    )
    .replace(
      /(\d+) changed/,
      (_m, n: string) =>
        `${n} Secret${n === '1' ? '' : 's'} or mounted class${n === '1' ? '' : 'es'} changed`,
    );
  return plain ? `${words.padEnd(28)} ${plain}` : words;
}
