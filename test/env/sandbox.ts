import { randomBytes } from 'node:crypto';
import { type AuditRelay, startAuditRelay } from './audit-relay.js';
import { startAzurite } from './azurite.js';
import { startChildService } from './child-service.js';
import type { EnvDescriptor, KubeClusterDescriptor } from './descriptor.js';
import { EnvError } from './errors.js';
import {
  ESO_CONTROLLER_CLASS,
  ESO_VERSION,
  ensureEsoBinary,
  STANDIN_CES_CLUSTER,
  STANDIN_CONTROLLER_CLASS,
  startEso,
} from './eso.js';
import { type KeyVaultStandin, startKeyVaultStandin } from './keyvault-standin.js';
import { ensureKubeApiserverBinary, startKubeCluster } from './kube.js';
import { startOpenBao } from './openbao.js';
import { startPostgres } from './postgres.js';
import { checkPrerequisites, type Prerequisite } from './prereqs.js';

/**
 * Starts every real server the tests, the demo and the benchmarks use, in parallel, and
 * hands back their addresses and credentials. If one fails, whatever did start is
 * stopped before the error (naming each failure) is thrown.
 */
export interface StartEnvironmentOptions {
  /** Kubernetes clusters to start (alpha, beta, ...); default 2. */
  clusters?: number;
  /** Progress messages ("openbao: ready in 1.4 s"). */
  log?: (msg: string) => void;
  /** Runs the real ESO controller in every cluster (eso.ts); its first build takes minutes. */
  eso?: boolean;
  /**
   * Runs the Key Vault stand-in in a child process of its own (child-service.ts) instead of
   * this one: the benchmarks use it so the process running rotor is not charged for it.
   */
  keyVaultProcess?: boolean;
}

export interface Environment {
  descriptor: EnvDescriptor;
  /** The Key Vault stand-in's own process, with `keyVaultProcess`. */
  keyVaultPid?: number;
  stop(): Promise<void>;
}

export const CLUSTER_NAMES = ['alpha', 'beta', 'gamma', 'delta'] as const;
export const KEY_VAULT_NAME = 'rotor-test';

interface Started<T> {
  value: T;
  stop(): Promise<void>;
}

export async function startEnvironment(opts: StartEnvironmentOptions = {}): Promise<Environment> {
  const log = opts.log ?? (() => {});
  const clusterCount = opts.clusters ?? 2;
  if (clusterCount > CLUSTER_NAMES.length) throw new EnvError(`at most ${CLUSTER_NAMES.length} clusters`);
  const needed: Prerequisite[] = ['python', 'postgres', 'openssl'];
  if (clusterCount > 0) needed.push('go');
  await checkPrerequisites(needed);

  const began = Date.now();
  const timed = async <T>(name: string, start: () => Promise<Started<T>>): Promise<Started<T>> => {
    const t0 = Date.now();
    log(`${name}: starting`);
    try {
      const started = await start();
      log(`${name}: ready in ${seconds(Date.now() - t0)}`);
      return started;
    } catch (err) {
      log(`${name}: FAILED after ${seconds(Date.now() - t0)} (stopping the rest once they are up)`);
      throw err;
    }
  };

  // Built once from Go modules and cached in .cache/bin; the first run takes many minutes.
  const kubeBinary =
    clusterCount > 0
      ? [
          timed('kube-apiserver binary', async () => ({
            value: await ensureKubeApiserverBinary(),
            stop: async () => {},
          })),
        ]
      : [];
  // Built beside the apiserver: both builds are cached; only the first run pays.
  const esoBinary = opts.eso && clusterCount > 0 ? ensureEsoBinary() : undefined;
  esoBinary?.catch(() => {}); // reported where it is awaited
  const clusters = CLUSTER_NAMES.slice(0, clusterCount).map((name) =>
    timed(`kube ${name}`, async () => {
      await kubeBinary[0];
      // Generous: two apiservers starting at once on 2 busy cores can take minutes.
      const c = await startKubeCluster({ name, readyTimeoutMs: 300_000 });
      const value: KubeClusterDescriptor = {
        name: c.name,
        server: c.server,
        caPem: c.caPem,
        adminKubeconfig: c.kubeconfigYaml('admin'),
        rotorKubeconfig: c.kubeconfigYaml('rotor'),
      };
      if (!esoBinary) return { value, stop: c.stop };
      await esoBinary;
      const eso = await startEso({
        cluster: name,
        kubeconfig: value.adminKubeconfig,
        clusterExternalSecrets: name !== STANDIN_CES_CLUSTER,
      }).catch(async (err) => {
        await c.stop();
        throw err;
      });
      return {
        value,
        stop: async () => {
          await eso.stop();
          await c.stop();
        },
      };
    }),
  );
  const openbao = timed('openbao + audit relay', startOpenBaoWithRelay);
  let keyVaultPid: number | undefined;
  const keyVault = timed('key vault (stand-in)', async () => {
    const options = { vaultName: KEY_VAULT_NAME };
    if (opts.keyVaultProcess) {
      const child = await startChildService<Omit<KeyVaultStandin, 'stop'>>(
        'key vault (stand-in)',
        new URL('./keyvault-standin.ts', import.meta.url),
        'startKeyVaultStandin',
        options,
      );
      keyVaultPid = child.pid;
      const { vaultUrl, vaultName, caPem } = child.value;
      return { value: { vaultUrl, vaultName, caPem }, stop: child.stop };
    }
    const kv = await startKeyVaultStandin(options);
    return { value: { vaultUrl: kv.vaultUrl, vaultName: kv.vaultName, caPem: kv.caPem }, stop: kv.stop };
  });
  const azurite = timed('azurite (tables)', async () => {
    const a = await startAzurite();
    return { value: { tableConnectionString: a.tableConnectionString, tableUrl: a.tableUrl }, stop: a.stop };
  });
  const postgres = timed('postgres', async () => {
    const { stop, ...value } = await startPostgres();
    return { value, stop };
  });

  const all: Promise<Started<unknown>>[] = [...kubeBinary, ...clusters, openbao, keyVault, azurite, postgres];
  const settled = await Promise.allSettled(all);
  const stopAll = () => stopEach(settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : [])));
  const failures = settled.flatMap((s) => (s.status === 'rejected' ? [s.reason as unknown] : []));
  if (failures.length > 0) {
    await stopAll().catch(() => {});
    const messages = failures.map((f) => (f instanceof Error ? f.message : String(f)));
    throw new EnvError(`rotor test environment failed to start:\n${messages.join('\n\n')}`, {
      cause: failures[0],
    });
  }
  log(`environment: ready in ${seconds(Date.now() - began)}`);

  const value = async <T>(p: Promise<Started<T>>) => (await p).value;
  const descriptor: EnvDescriptor = {
    clusters: await Promise.all(clusters.map(value)),
    openbao: await value(openbao),
    lowkey: await value(keyVault),
    azurite: await value(azurite),
    postgres: await value(postgres),
    ...(esoBinary
      ? {
          eso: {
            version: ESO_VERSION,
            controllerClass: ESO_CONTROLLER_CLASS,
            standinControllerClass: STANDIN_CONTROLLER_CLASS,
            ...(clusterCount > CLUSTER_NAMES.indexOf(STANDIN_CES_CLUSTER)
              ? { standinCesCluster: STANDIN_CES_CLUSTER }
              : {}),
          },
        }
      : {}),
  };
  let stopping: Promise<void> | undefined;
  return {
    descriptor,
    ...(keyVaultPid === undefined ? {} : { keyVaultPid }),
    stop: () => {
      stopping ??= stopAll().then(() => log('environment: stopped'));
      return stopping;
    },
  };
}

async function startOpenBaoWithRelay(): Promise<Started<EnvDescriptor['openbao']>> {
  const relay: AuditRelay = await startAuditRelay();
  try {
    const auditBearerToken = randomBytes(24).toString('hex');
    const bao = await startOpenBao({ auditUrl: relay.ingestUrl, auditBearerToken });
    return {
      value: {
        address: bao.address,
        rootToken: bao.rootToken,
        kvMount: bao.kvMount,
        auditRelayUrl: relay.url,
        auditBearerToken,
      },
      // OpenBao first: its audit device must not lose the relay while it still serves.
      stop: async () => {
        await bao.stop();
        await relay.stop();
      },
    };
  } catch (err) {
    await relay.stop();
    throw err;
  }
}

async function stopEach(items: Started<unknown>[]): Promise<void> {
  const results = await Promise.allSettled(items.map((i) => i.stop()));
  const errors = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
  if (errors.length > 0) {
    throw new EnvError(`stopping the test environment: ${errors.map((e) => String(e)).join('; ')}`);
  }
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}
