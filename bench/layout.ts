/**
 * Where the benchmarks run the stand-ins. In production ESO / VSO run in their own pods and
 * Key Vault is a remote service, so by default the operator stand-ins and the Key Vault
 * stand-in each run in a child process of their own, as do the bench's watches
 * (bench/remote-observer.ts), and the bench process holds only rotor (App + local host). ROTOR_BENCH_STANDINS=in-process puts them
 * back in the bench process (the layout before 2026-11-29), to compare the two.
 */
const inProcess = process.env.ROTOR_BENCH_STANDINS === 'in-process';

export const LAYOUT = {
  name: inProcess ? 'stand-ins in the bench process' : 'stand-ins in child processes',
  environment: { keyVaultProcess: !inProcess },
  sandbox: { standinsProcess: !inProcess },
} as const;

/** Labels for the CPU table: which process is which (pids of this run). */
export function processLabels(
  env: { keyVaultPid?: number },
  sandbox: { standinsPid?: number },
): Map<number, string> {
  const labels = new Map<number, string>([
    [
      process.pid,
      process.env.ROTOR_BENCH_OBSERVER === 'in-process'
        ? 'bench process (rotor, bench watches)'
        : 'bench process (rotor)',
    ],
  ]);
  if (env.keyVaultPid !== undefined) labels.set(env.keyVaultPid, 'key vault stand-in');
  if (sandbox.standinsPid !== undefined) labels.set(sandbox.standinsPid, 'operator stand-ins');
  return labels;
}
