/**
 * The operator stand-ins (ESO and VSO test doubles) for a set of clusters, started either
 * in the calling process or in a child process of their own (standins-process.ts). In a
 * cluster the operators run in their own pods, not on rotor's event loop: the benchmarks
 * start them in a child so rotor's process is not charged for their CPU and queueing.
 */
import { startEsoStandin } from './eso-standin.js';
import type { KeyVaultAccess, VaultAccess } from './standin-backends.js';
import { startVsoStandin } from './vso-standin.js';

/** Plain data (it crosses the IPC channel to the child process). */
export interface StandinsOptions {
  /** Admin kubeconfig YAML of each cluster the stand-ins reconcile. */
  kubeconfigs: readonly string[];
  keyVault: KeyVaultAccess;
  vault: VaultAccess;
  /** Only these namespaces are reconciled (tests share clusters). */
  namespaces?: readonly string[];
}

export interface RunningStandins {
  stop(): Promise<void>;
}

/** An ESO and a VSO stand-in per cluster, in this process; resolves once their informers listed. */
export async function startStandins(opts: StandinsOptions): Promise<RunningStandins> {
  const stops: Array<() => Promise<void>> = [];
  const stop = async () => {
    for (const s of stops.reverse()) await s().catch(() => undefined);
  };
  try {
    const scope = opts.namespaces ? { namespaces: opts.namespaces } : {};
    for (const kubeconfig of opts.kubeconfigs) {
      const eso = await startEsoStandin({ kubeconfig, keyVault: opts.keyVault, vault: opts.vault, ...scope });
      stops.push(() => eso.stop());
      const vso = await startVsoStandin({ kubeconfig, vault: opts.vault, ...scope });
      stops.push(() => vso.stop());
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { stop };
}
