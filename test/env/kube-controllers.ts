/**
 * The controllers that make a test cluster's workloads really roll out: upstream
 * kube-controller-manager and kube-scheduler (built from the same k8s.io/kubernetes module
 * as the test kube-apiserver) and KWOK (sigs.k8s.io/kwok, its own module) with fake nodes.
 * Deployments create ReplicaSets, pods are scheduled onto the fake nodes and become Ready,
 * old pods go away, StatefulSets and DaemonSets roll, CronJobs spawn Jobs, owned objects
 * are garbage-collected. None of the three opens a port, so clusters run side by side.
 *
 * KWOK's binary has no default stages: it gets the ones its module ships under
 * kustomize/stage/ (read from the Go module cache at build time, copied into .cache/kwok)
 * plus rotor's own stage-crash-unhealthy-hash.yaml, which fails pods on a new secret hash.
 */
import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { EnvError } from './errors.js';
import { ensureGoBinary } from './go-binary.js';
import { APISERVER } from './kube.js';
import { type ManagedProcess, startProcess } from './managed-process.js';
import { CACHE_DIR, REPO_ROOT } from './paths.js';
import { waitUntil } from './wait.js';

const KWOK_MODULE_DIR = path.join(REPO_ROOT, 'test', 'env', 'kwok');
const KWOK_STAGES_DIR = path.join(CACHE_DIR, 'kwok');
/** Stages from KWOK's module (kustomize/stage/...): fast node and pod life cycles. */
const KWOK_STAGE_FILES = [
  'node/fast/node-initialize.yaml',
  'node/heartbeat-with-lease/node-heartbeat-with-lease.yaml',
  'pod/fast/pod-ready.yaml',
  'pod/fast/pod-complete.yaml',
  'pod/fast/pod-delete.yaml',
];
const OWN_STAGES = [path.join(KWOK_MODULE_DIR, 'stage-crash-unhealthy-hash.yaml')];

/** The annotation KWOK manages nodes by; fake nodes carry it. */
export const FAKE_NODE_ANNOTATION = { key: 'kwok.x-k8s.io/node', value: 'fake' } as const;
/** Pod template annotation read by the crash stage: pods with another STAKATER_* hash never get Ready. */
export const HEALTHY_HASH_ANNOTATION = 'rotor.test/healthy-hash';
const FAKE_NODES = ['kwok-node-0', 'kwok-node-1'];

const CONTROLLERS = [
  'deployment',
  'replicaset',
  'statefulset',
  'daemonset',
  'job',
  'cronjob',
  'garbagecollector',
  'namespace',
  'serviceaccount',
  'serviceaccount-token',
  'ttl-after-finished',
  // Required: the apiserver taints new Nodes not-ready; without it nothing is ever scheduled.
  'nodelifecycle',
];
/** Client-side rate limits well above the defaults: a 3-replica rollout goes from ~0.9 s to ~0.13 s. */
const API_RATE = ['--kube-api-qps=1000', '--kube-api-burst=2000'];

export interface ControllerBinaries {
  controllerManager: string;
  scheduler: string;
  kwok: string;
  /** KWOK --config files: KWOK's stages and rotor's own. */
  kwokStages: string[];
}

/**
 * Builds (once, cached in .cache/bin) kube-controller-manager, kube-scheduler and KWOK.
 * One after the other: on 2 cores parallel Go builds only add memory.
 */
export async function ensureControllerBinaries(): Promise<ControllerBinaries> {
  const fromKubeModule = (name: string) => ({
    name,
    dir: 'kube-apiserver',
    pkg: `./${name}`,
    buildArgs: APISERVER.buildArgs,
    sourceFiles: ['go.mod', 'go.sum', `${name}/main.go`],
  });
  const controllerManager = await ensureGoBinary(fromKubeModule('kube-controller-manager'));
  const scheduler = await ensureGoBinary(fromKubeModule('kube-scheduler'));
  const kwok = await ensureGoBinary({
    name: 'kwok',
    pkg: 'sigs.k8s.io/kwok/cmd/kwok',
    sourceFiles: ['go.mod', 'go.sum'],
    buildArgs: ['build', '-mod=readonly', '-trimpath', '-ldflags', '-s -w'],
  });
  return { controllerManager, scheduler, kwok, kwokStages: [await kwokStages(), ...OWN_STAGES] };
}

let stagesFile: Promise<string> | undefined;

/** KWOK's stage files, from the module cache, in one file under .cache/kwok (with their provenance). */
function kwokStages(): Promise<string> {
  stagesFile ??= (async () => {
    const exec = promisify(execFile);
    const { stdout } = await exec('go', ['mod', 'download', '-json', 'sigs.k8s.io/kwok'], {
      cwd: KWOK_MODULE_DIR,
      env: { ...process.env, GOWORK: 'off', GOFLAGS: '-mod=readonly' },
    });
    const mod = JSON.parse(stdout) as { Dir?: string; Version?: string };
    if (!mod.Dir) throw new EnvError(`go mod download sigs.k8s.io/kwok: no Dir in ${stdout}`);
    const parts = await Promise.all(
      KWOK_STAGE_FILES.map(async (f) => {
        const text = await readFile(path.join(mod.Dir as string, 'kustomize', 'stage', f), 'utf8');
        return `# sigs.k8s.io/kwok@${mod.Version} kustomize/stage/${f}\n${text.trimEnd()}\n`;
      }),
    );
    await mkdir(KWOK_STAGES_DIR, { recursive: true });
    const file = path.join(KWOK_STAGES_DIR, `stages-${mod.Version}.yaml`);
    await writeFile(file, parts.join('---\n'));
    return file;
  })().catch((err: unknown) => {
    stagesFile = undefined;
    throw err;
  });
  return stagesFile;
}

export interface ClusterControllersOptions {
  /** Cluster name, for messages. */
  name: string;
  /** The cluster's own temporary folder: kubeconfig and logs go there. */
  dir: string;
  /** Admin kubeconfig YAML (system:masters). */
  adminKubeconfig: string;
  /** PEM of the cluster CA (published into service account token Secrets). */
  caPem: string;
  /** The service account signing key the apiserver verifies tokens with. */
  serviceAccountKeyFile: string;
  readyTimeoutMs?: number;
}

export interface ClusterControllers {
  stop(): Promise<void>;
}

/** Starts the three controllers against a running apiserver and waits until the fake nodes are Ready. */
export async function startClusterControllers(opts: ClusterControllersOptions): Promise<ClusterControllers> {
  const bins = await ensureControllerBinaries();
  const kubeconfig = path.join(opts.dir, 'controllers.kubeconfig');
  const caFile = path.join(opts.dir, 'ca.pem');
  await writeFile(kubeconfig, opts.adminKubeconfig, { mode: 0o600 });
  await writeFile(caFile, opts.caPem);
  const common = [`--kubeconfig=${kubeconfig}`, '--leader-elect=false', '--secure-port=0', ...API_RATE];
  const start = (name: string, command: string, args: string[]) =>
    startProcess({
      name: `${opts.name} ${name}`,
      command,
      args,
      logPath: path.join(opts.dir, `${name}.log`),
    });
  const started: ManagedProcess[] = [];
  const stop = async () => {
    await Promise.allSettled(started.map((p) => p.stop()));
  };
  try {
    started.push(
      await start('kube-controller-manager', bins.controllerManager, [
        ...common,
        '--use-service-account-credentials=false',
        `--controllers=${CONTROLLERS.join(',')}`,
        `--service-account-private-key-file=${opts.serviceAccountKeyFile}`,
        `--root-ca-file=${caFile}`,
        // Fake nodes never fail: a test machine starved of CPU for a minute must not get them
        // marked NotReady, tainted and their pods evicted.
        '--node-monitor-grace-period=1h',
      ]),
      // A pod found unschedulable during such a hiccup is retried within seconds, not 5 minutes.
      await start('kube-scheduler', bins.scheduler, [
        ...common,
        '--pod-max-in-unschedulable-pods-duration=5s',
      ]),
      await start('kwok', bins.kwok, [
        `--kubeconfig=${kubeconfig}`,
        ...bins.kwokStages.map((f) => `--config=${f}`),
        '--manage-all-nodes=false',
        `--manage-nodes-with-annotation-selector=${FAKE_NODE_ANNOTATION.key}=${FAKE_NODE_ANNOTATION.value}`,
      ]),
    );
    await createReadyFakeNodes(opts, started);
    return { stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

async function createReadyFakeNodes(
  opts: ClusterControllersOptions,
  processes: ManagedProcess[],
): Promise<void> {
  const kc = new KubeConfig();
  kc.loadFromString(opts.adminKubeconfig);
  const core = kc.makeApiClient(CoreV1Api);
  await Promise.all(
    FAKE_NODES.map((name) =>
      core.createNode({
        body: {
          metadata: {
            name,
            annotations: { [FAKE_NODE_ANNOTATION.key]: FAKE_NODE_ANNOTATION.value },
            labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux', type: 'kwok' },
          },
        },
      }),
    ),
  );
  // Ready (KWOK) and no longer tainted not-ready (nodelifecycle): pods can be scheduled.
  const nodesReady = Promise.all(
    FAKE_NODES.map((name) =>
      waitUntil(
        async () => {
          const node = await core.readNode({ name });
          const ready = node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
          const tainted = node.spec?.taints?.some((t) => t.key.startsWith('node.kubernetes.io/'));
          return ready && !tainted ? true : undefined;
        },
        {
          what: `cluster ${opts.name}: fake node ${name} Ready and untainted`,
          timeoutMs: opts.readyTimeoutMs ?? 120_000,
        },
      ),
    ),
  );
  const anyExit = Promise.race(
    processes.map(async (p) => {
      const exit = await p.exited;
      throw new EnvError(
        `${p.name} exited (code ${exit.code}, signal ${exit.signal}):\n${await p.logTail(30)}`,
      );
    }),
  );
  await Promise.race([nodesReady, anyExit]);
}
