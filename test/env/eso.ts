/**
 * The real External Secrets Operator controller, one per test cluster.
 *
 * Built from ESO's Go module (test/env/eso-controller: v0.16.2, API external-secrets.io/v1,
 * every provider compiled in) into `.cache/bin/eso-controller` by go-binary.ts. It runs
 * against the cluster's apiserver with the admin kubeconfig, no metrics listener and no
 * leader election, so several run side by side. It reconciles every namespace; objects
 * meant for the ESO stand-in (Key Vault, which needs Entra ID here; ClusterExternalSecrets,
 * see below) use stores with `spec.controller: STANDIN_CONTROLLER_CLASS`, which this
 * controller leaves alone.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ensureGoBinary, type GoBinarySpec } from './go-binary.js';
import { type ManagedProcess, startProcess } from './managed-process.js';
import { makeTempDir, removeTempDir } from './temp-dir.js';
import { waitUntil } from './wait.js';

export const ESO_VERSION = 'v0.16.2';
/** ESO's --controller-class default: stores with no `spec.controller`, or this one, are its. */
export const ESO_CONTROLLER_CLASS = 'default';
/** Stores for the ESO stand-in name this class; the real controller skips them. */
export const STANDIN_CONTROLLER_CLASS = 'rotor-eso-standin';
/**
 * The cluster whose real ESO leaves ClusterExternalSecrets to the ESO stand-in (ESO 2.x
 * behaviour); every other cluster runs v0.16.2's own ClusterExternalSecret reconciler.
 */
export const STANDIN_CES_CLUSTER = 'beta';

const CONTROLLER: GoBinarySpec = {
  name: 'eso-controller',
  buildArgs: ['build', '-mod=readonly', '-trimpath', '-ldflags', '-s -w'],
};

/** Builds the ESO controller if it is missing or its module changed; returns its path. */
export function ensureEsoBinary(): Promise<string> {
  return ensureGoBinary(CONTROLLER);
}

export interface RealEso {
  logPath: string;
  stop(): Promise<void>;
}

export interface StartEsoOptions {
  cluster: string;
  /** Admin kubeconfig YAML: the controller acts as the operator's service account would. */
  kubeconfig: string;
  /**
   * Run ESO's own ClusterExternalSecret reconciler (default). Off, ClusterExternalSecrets in
   * this cluster are left to the ESO stand-in, which behaves as ESO 2.x does (see below).
   */
  clusterExternalSecrets?: boolean;
  readyTimeoutMs?: number;
}

export async function startEso(opts: StartEsoOptions): Promise<RealEso> {
  const binary = await ensureEsoBinary();
  const dir = await makeTempDir(`rotor-eso-${opts.cluster}`);
  const kubeconfig = path.join(dir, 'kubeconfig');
  await writeFile(kubeconfig, opts.kubeconfig, { mode: 0o600 });
  let proc: ManagedProcess | undefined;
  try {
    proc = await startProcess({
      name: `eso ${opts.cluster}`,
      command: binary,
      args: [
        '--metrics-addr=0',
        `--controller-class=${ESO_CONTROLLER_CLASS}`,
        // rotor never pushes; these reconcilers would only add load.
        '--enable-push-secret-reconciler=false',
        '--enable-cluster-push-secret-reconciler=false',
        // v0.16.2's ClusterExternalSecret controller copies only spec.externalSecretMetadata
        // to the ExternalSecrets it provisions (and strips any other annotation from them),
        // not the CES's own external-secrets.io/force-sync annotation as ESO 2.x does. One
        // cluster runs it (rotor forces the children directly there); in the other the ESO
        // stand-in serves ClusterExternalSecrets as 2.x does, so both behaviours are tested.
        `--enable-cluster-external-secret-reconciler=${opts.clusterExternalSecrets ?? true}`,
        '--concurrent=4',
        '--zap-time-encoding=iso8601',
        '--loglevel=info',
      ],
      env: { ...process.env, KUBECONFIG: kubeconfig },
      logPath: path.join(dir, 'eso.log'),
    });
    const started = proc;
    // controller-runtime logs this once the ExternalSecret informers have synced.
    await waitUntil(
      async () =>
        /"Starting workers"[^\n]*"controller":"externalsecret"/.test(
          await readFile(started.logPath, 'utf8').catch(() => ''),
        )
          ? true
          : undefined,
      {
        what: 'the ExternalSecret controller starts its workers',
        timeoutMs: opts.readyTimeoutMs ?? 120_000,
        intervalMs: 100,
        process: started,
      },
    );
  } catch (err) {
    await proc?.stop();
    await removeTempDir(dir);
    throw err;
  }
  const running = proc;
  return {
    logPath: running.logPath,
    async stop() {
      await running.stop();
      await removeTempDir(dir);
    },
  };
}
