/**
 * A real kube-apiserver (with embedded etcd) for integration tests.
 *
 * The server is built from Go modules (test/env/kube-apiserver) into `.cache/bin`, once,
 * and rebuilt only when its sources change (go-binary.ts). Each cluster gets its own loopback ports and
 * temporary directory, serves TLS with a self-signed CA that clients verify, knows two
 * token identities (admin in system:masters, and the restricted user `rotor`), has every
 * CRD of test/env/crds (schema-only copies of the upstream files, see PROVENANCE.md there)
 * established and the RBAC of infra/k8s applied.
 * kube-controller-manager, kube-scheduler and KWOK with fake nodes run beside it
 * (kube-controllers.ts), so workloads really roll out.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { generateKeyPairSync, randomBytes, X509Certificate } from 'node:crypto';
import { closeSync, openSync, rmSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments, stringify } from 'yaml';
import { ensureGoBinary, type GoBinarySpec } from './go-binary.js';
import { type ClusterControllers, startClusterControllers } from './kube-controllers.js';
import { freePorts } from './ports.js';
import { sleep } from './wait.js';

export interface KubeCluster {
  /** Cluster name; also the kubeconfig context name. */
  name: string;
  /** https://127.0.0.1:<port> */
  server: string;
  /** PEM of the CA that signed the serving certificate. */
  caPem: string;
  adminToken: string;
  rotorToken: string;
  adminKubeconfigPath: string;
  rotorKubeconfigPath: string;
  kubeconfigYaml(identity: 'admin' | 'rotor'): string;
  stop(): Promise<void>;
}

export interface StartKubeClusterOptions {
  name: string;
  /** Parent folder of the cluster's own temporary folder (default: os.tmpdir()). */
  workDir?: string;
  /** Bound on apiserver readiness (default 120 s); CRDs get as long, at least 60 s. */
  readyTimeoutMs?: number;
  /**
   * Run kube-controller-manager, kube-scheduler and KWOK beside the apiserver (default
   * true). Off for benchmarks that only measure API traffic on thousands of workloads.
   */
  controllers?: boolean;
}

export class KubeEnvError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'KubeEnvError';
  }
}

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const K8S_VERSION = 'v1.34.4';
/** kube-controller-manager and kube-scheduler are built from the same module with the same arguments. */
export const APISERVER: GoBinarySpec = {
  name: 'kube-apiserver',
  buildArgs: [
    'build',
    '-mod=readonly',
    '-trimpath',
    '-ldflags',
    [
      '-s -w',
      `-X k8s.io/component-base/version.gitVersion=${K8S_VERSION}`,
      '-X k8s.io/component-base/version.gitMajor=1',
      '-X k8s.io/component-base/version.gitMinor=34',
    ].join(' '),
  ],
};
/** Inside the repository: a fresh clone has nothing beside it (scripts/vendor-crds.ts makes them). */
const CRDS_DIR = path.join(REPO_ROOT, 'test', 'env', 'crds');
const RBAC_DIR = path.join(REPO_ROOT, 'infra', 'k8s');
const FIELD_MANAGER = 'rotor-test-env';
const STOP_GRACE_MS = 5_000;

// ---------------------------------------------------------------------------------------
// Binary

/** Builds the test kube-apiserver if it is missing or its sources changed; returns its path. */
export function ensureKubeApiserverBinary(): Promise<string> {
  return ensureGoBinary(APISERVER);
}

// ---------------------------------------------------------------------------------------
// Cluster

const running = new Set<{ child: ChildProcess; dir: string }>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Synchronous last resort; the child also exits when its stdin pipe closes.
  process.on('exit', () => {
    for (const r of running) {
      r.child.kill('SIGKILL');
      rmSync(r.dir, { recursive: true, force: true });
    }
  });
}

export async function startKubeCluster(opts: StartKubeClusterOptions): Promise<KubeCluster> {
  const { name } = opts;
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name)) {
    throw new KubeEnvError(`rotor test env: cluster name must be a DNS label, got ${JSON.stringify(name)}`);
  }
  const binary = await ensureKubeApiserverBinary();
  phase(name, 'binary ready', true);
  // The free ports are released before the apiserver binds them; another process may take
  // one in between, so a start that fails on a port in use is retried with new ports.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(opts, binary);
    } catch (err) {
      if (!(err instanceof PortInUseError) || attempt >= 3) throw err;
    }
  }
}

class PortInUseError extends KubeEnvError {}

async function startOnce(opts: StartKubeClusterOptions, binary: string): Promise<KubeCluster> {
  const { name } = opts;
  const parent = opts.workDir ?? os.tmpdir();
  await mkdir(parent, { recursive: true });
  const dir = await mkdtemp(path.join(parent, `rotor-kube-${name}-`));
  const certDir = path.join(dir, 'certs');
  const logPath = path.join(dir, 'kube-apiserver.log');

  const { publicKey, privateKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
  });
  const saPub = path.join(dir, 'sa.pub');
  const saKey = path.join(dir, 'sa.key');
  const adminToken = randomBytes(24).toString('hex');
  const rotorToken = randomBytes(24).toString('hex');
  const tokenFile = path.join(dir, 'tokens.csv');
  await Promise.all([
    writeFile(saPub, publicKey),
    writeFile(saKey, privateKey, { mode: 0o600 }),
    writeFile(tokenFile, `${adminToken},admin,admin,"system:masters"\n${rotorToken},rotor,rotor,"rotor"\n`, {
      mode: 0o600,
    }),
  ]);

  const [securePort, etcdClientPort, etcdPeerPort] = await freePorts(3);
  const server = `https://127.0.0.1:${securePort}`;
  const args = [
    `--etcd-client-port=${etcdClientPort}`,
    `--etcd-peer-port=${etcdPeerPort}`,
    `--etcd-data-dir=${path.join(dir, 'etcd')}`,
    '--exit-on-stdin-eof',
    `--secure-port=${securePort}`,
    '--bind-address=127.0.0.1',
    '--advertise-address=127.0.0.1',
    `--cert-dir=${certDir}`,
    '--service-account-issuer=https://kubernetes.default.svc',
    `--service-account-key-file=${saPub}`,
    `--service-account-signing-key-file=${saKey}`,
    '--service-cluster-ip-range=10.0.0.0/24',
    '--authorization-mode=RBAC',
    `--token-auth-file=${tokenFile}`,
    // The "default" ServiceAccount of a new namespace appears only once the controller got
    // to it; with this plugin on, a Pod created before that would be rejected.
    '--disable-admission-plugins=ServiceAccount',
    '--enable-priority-and-fairness=false',
    // ROTOR_KUBE_PROFILING=1: /debug/pprof for the burst bench's apiserver profile.
    `--profiling=${process.env.ROTOR_KUBE_PROFILING === '1'}`,
    '--v=0',
  ];

  const logFd = openSync(logPath, 'a');
  let child: ChildProcess;
  try {
    child = spawn(binary, args, { cwd: dir, stdio: ['pipe', logFd, logFd] });
  } finally {
    closeSync(logFd);
  }
  const entry = { child, dir };
  running.add(entry);
  installExitHook();
  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const exitPromise = new Promise<void>((resolve) => {
    child.on('exit', (code, signal) => {
      exited = { code, signal };
      running.delete(entry);
      resolve();
    });
    child.on('error', () => resolve());
  });

  let stopped = false;
  let controllers: ClusterControllers | undefined;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await controllers?.stop();
    if (!exited) {
      child.kill('SIGTERM');
      const killed = await Promise.race([
        exitPromise.then(() => false),
        sleep(STOP_GRACE_MS).then(() => true),
      ]);
      if (killed) {
        child.kill('SIGKILL');
        await exitPromise;
      }
    }
    running.delete(entry);
    await rm(dir, { recursive: true, force: true });
  };

  const fail = async (message: string, cause?: unknown): Promise<never> => {
    const logTail = await tail(logPath);
    await stop();
    const ErrorClass = exited && /address already in use/.test(logTail) ? PortInUseError : KubeEnvError;
    throw new ErrorClass(
      `rotor test env: cluster ${name}: ${message}\n--- kube-apiserver log (tail) ---\n${logTail}`,
      {
        cause,
      },
    );
  };

  try {
    const readyTimeoutMs = opts.readyTimeoutMs ?? 120_000;
    const deadline = Date.now() + readyTimeoutMs;
    const alive = () => {
      if (exited)
        throw new KubeEnvError(`kube-apiserver exited (code ${exited.code}, signal ${exited.signal})`);
      if (Date.now() > deadline)
        throw new KubeEnvError(`kube-apiserver not ready after ${readyTimeoutMs / 1000} s`);
    };
    const caPem = await waitForCa(path.join(certDir, 'apiserver.crt'), alive);
    phase(name, 'serving certificate written');
    const admin: Client = { server, caPem, token: adminToken };
    await waitForReady(admin, alive);
    phase(name, '/readyz ok');
    await applyCrds(admin, Math.max(60_000, readyTimeoutMs));
    phase(name, 'CRDs established');
    await applyRbac(admin);
    phase(name, 'RBAC applied');
    if (opts.controllers ?? true) {
      const adminKubeconfig = kubeconfig(name, server, caPem, 'admin', adminToken);
      controllers = await startClusterControllers({
        name,
        dir,
        adminKubeconfig,
        caPem,
        serviceAccountKeyFile: saKey,
      });
      phase(name, 'controllers running, fake nodes Ready');
    }

    const kubeconfigYaml = (identity: 'admin' | 'rotor'): string =>
      kubeconfig(name, server, caPem, identity, identity === 'admin' ? adminToken : rotorToken);
    const adminKubeconfigPath = path.join(dir, 'admin.kubeconfig');
    const rotorKubeconfigPath = path.join(dir, 'rotor.kubeconfig');
    await writeFile(adminKubeconfigPath, kubeconfigYaml('admin'), { mode: 0o600 });
    await writeFile(rotorKubeconfigPath, kubeconfigYaml('rotor'), { mode: 0o600 });

    return {
      name,
      server,
      caPem,
      adminToken,
      rotorToken,
      adminKubeconfigPath,
      rotorKubeconfigPath,
      kubeconfigYaml,
      stop,
    };
  } catch (err) {
    return fail(err instanceof Error ? err.message : String(err), err);
  }
}

function kubeconfig(name: string, server: string, caPem: string, identity: string, token: string): string {
  const user = `${name}-${identity}`;
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      { name, cluster: { server, 'certificate-authority-data': Buffer.from(caPem).toString('base64') } },
    ],
    users: [{ name: user, user: { token } }],
    contexts: [{ name, context: { cluster: name, user, namespace: 'default' } }],
    'current-context': name,
  });
}

/**
 * The apiserver writes a self-signed CA and a serving certificate (IP SAN 127.0.0.1) into
 * --cert-dir as one chain; clients trust only the CA.
 */
async function waitForCa(certFile: string, alive: () => void): Promise<string> {
  for (;;) {
    alive();
    const pem = await readFile(certFile, 'utf8').catch(() => '');
    const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g) ?? [];
    try {
      const ca = blocks.find((b) => new X509Certificate(b).ca);
      if (ca) return ca.endsWith('\n') ? ca : `${ca}\n`;
    } catch {
      // partially written; retry
    }
    await sleep(50);
  }
}

async function waitForReady(admin: Client, alive: () => void): Promise<void> {
  let last = '';
  for (;;) {
    try {
      alive();
    } catch (err) {
      throw new KubeEnvError(`${(err as Error).message}; last /readyz answer: ${last || 'none'}`);
    }
    try {
      const res = await request(admin, 'GET', '/readyz?verbose', undefined, undefined, 2_000);
      if (res.status === 200) return;
      last = `${res.status} ${res.body
        .split('\n')
        .filter((l) => l.includes('failed'))
        .join('; ')}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await sleep(100);
  }
}

// ---------------------------------------------------------------------------------------
// Applying manifests (server-side apply over plain HTTPS)

interface Client {
  server: string;
  caPem: string;
  token: string;
}

interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; [k: string]: unknown };
  [k: string]: unknown;
}

async function applyCrds(admin: Client, establishTimeoutMs: number): Promise<void> {
  const files = await yamlFiles(CRDS_DIR);
  if (files.length === 0) throw new KubeEnvError(`no CRD files in ${CRDS_DIR} (see scripts/vendor-crds.ts)`);
  const crds = (await Promise.all(files.map(readObjects))).flat();
  const resolver = new ResourceResolver(admin);
  await Promise.all(crds.map((o) => apply(admin, resolver, o)));
  await waitEstablished(
    admin,
    crds.map((o) => o.metadata.name),
    establishTimeoutMs,
  );
}

/**
 * Waits until every named CRD is Established, through one watch (its initial ADDED events
 * carry the current state), instead of polling objects that can weigh hundreds of KB.
 */
function waitEstablished(admin: Client, names: string[], timeoutMs: number): Promise<void> {
  const pending = new Set(names);
  const states = new Map<string, unknown>();
  return new Promise((resolve, reject) => {
    const req = https.request(
      `${admin.server}/apis/apiextensions.k8s.io/v1/customresourcedefinitions?watch=true&timeoutSeconds=${Math.ceil(timeoutMs / 1000)}`,
      { ca: admin.caPem, headers: { authorization: `Bearer ${admin.token}`, accept: 'application/json' } },
      (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          settle(new KubeEnvError(`watch CRDs: ${res.statusCode}`));
          return;
        }
        let buffered = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buffered += chunk;
          for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
            const line = buffered.slice(0, nl);
            buffered = buffered.slice(nl + 1);
            if (!line.trim()) continue;
            try {
              onEvent(JSON.parse(line) as WatchEvent);
            } catch (err) {
              settle(err as Error);
            }
          }
        });
        res.on('end', () => settle(new KubeEnvError('watch CRDs ended early')));
        res.on('error', settle);
      },
    );
    const timer = setTimeout(
      () =>
        settle(
          new KubeEnvError(
            `CRDs not Established after ${timeoutMs / 1000} s: ${[...pending]
              .map((n) => `${n} ${JSON.stringify(states.get(n) ?? 'not seen')}`)
              .join('; ')}`,
          ),
        ),
      timeoutMs,
    );
    let settled = false;
    function settle(err?: Error): void {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      if (err) reject(err);
      else resolve();
    }
    function onEvent(ev: WatchEvent): void {
      const name = ev.object.metadata?.name;
      if (!name || !pending.has(name)) return;
      const conds = ev.object.status?.conditions ?? [];
      states.set(name, conds);
      if (conds.some((c) => c.type === 'Established' && c.status === 'True')) pending.delete(name);
      if (pending.size === 0) settle();
    }
    req.on('error', (err) => settle(err));
    req.end();
    if (pending.size === 0) settle();
  });
}

interface WatchEvent {
  type: string;
  object: { metadata?: { name?: string }; status?: { conditions?: { type: string; status: string }[] } };
}

/** A binding whose subjects are obviously to be filled in by the installer. */
function hasPlaceholderSubject(o: KubeObject): boolean {
  const subjects = (o.subjects as { name?: string; namespace?: string }[] | undefined) ?? [];
  return subjects.some((s) =>
    [s.name, s.namespace].some(
      (v) => typeof v === 'string' && /[<>{}$]|placeholder|changeme|change-me|replace/i.test(v),
    ),
  );
}

async function applyRbac(admin: Client): Promise<void> {
  const files = await yamlFiles(RBAC_DIR).catch(() => [] as string[]);
  const objects = (await Promise.all(files.map(readObjects)))
    .flat()
    .filter(
      (o) => !((o.kind === 'ClusterRoleBinding' || o.kind === 'RoleBinding') && hasPlaceholderSubject(o)),
    );
  if (!objects.some((o) => o.kind === 'ClusterRole' && o.metadata.name === 'rotor')) {
    throw new KubeEnvError(`no ClusterRole "rotor" in ${RBAC_DIR}/*.yaml`);
  }
  objects.push({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name: 'rotor-test' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'rotor' },
    subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'rotor' }],
  });
  const resolver = new ResourceResolver(admin);
  // Namespaces first, then everything else in file order.
  for (const o of objects.filter((x) => x.kind === 'Namespace')) await apply(admin, resolver, o);
  await Promise.all(objects.filter((x) => x.kind !== 'Namespace').map((o) => apply(admin, resolver, o)));
}

async function yamlFiles(dir: string): Promise<string[]> {
  const names = await readdir(dir);
  return names
    .filter((n) => n.endsWith('.yaml') || n.endsWith('.yml'))
    .sort()
    .map((n) => path.join(dir, n));
}

async function readObjects(file: string): Promise<KubeObject[]> {
  const docs = parseAllDocuments(await readFile(file, 'utf8'));
  const out: KubeObject[] = [];
  for (const doc of docs) {
    if (doc.errors.length > 0) throw new KubeEnvError(`${file}: ${doc.errors[0]?.message}`);
    const value = doc.toJS() as KubeObject | null;
    if (value == null) continue;
    const items = value.kind === 'List' ? ((value.items as KubeObject[] | undefined) ?? []) : [value];
    for (const item of items) {
      if (!item.apiVersion || !item.kind || !item.metadata?.name) {
        throw new KubeEnvError(`${file}: object without apiVersion/kind/metadata.name`);
      }
      out.push(item);
    }
  }
  return out;
}

/** Maps apiVersion+kind to a resource path through discovery, like kubectl's RESTMapper. */
class ResourceResolver {
  private readonly groups = new Map<string, Promise<{ name: string; kind: string; namespaced: boolean }[]>>();
  constructor(private readonly client: Client) {}

  async path(o: KubeObject): Promise<string> {
    let list = this.groups.get(o.apiVersion);
    if (!list) {
      const base = o.apiVersion.includes('/') ? `/apis/${o.apiVersion}` : `/api/${o.apiVersion}`;
      list = request(this.client, 'GET', base).then((res) => {
        if (res.status !== 200) throw new KubeEnvError(`discovery ${base}: ${res.status} ${res.body}`);
        return (JSON.parse(res.body) as { resources: { name: string; kind: string; namespaced: boolean }[] })
          .resources;
      });
      this.groups.set(o.apiVersion, list);
    }
    const r = (await list).find((x) => x.kind === o.kind && !x.name.includes('/'));
    if (!r) throw new KubeEnvError(`no resource for ${o.apiVersion} ${o.kind}`);
    const base = o.apiVersion.includes('/') ? `/apis/${o.apiVersion}` : `/api/${o.apiVersion}`;
    const ns = r.namespaced ? `/namespaces/${encodeURIComponent(o.metadata.namespace ?? 'default')}` : '';
    return `${base}${ns}/${r.name}/${encodeURIComponent(o.metadata.name)}`;
  }
}

/**
 * Creates the object, or server-side applies it if it exists (a fresh cluster mostly
 * creates, which costs the server far less than applying large CRDs).
 */
async function apply(client: Client, resolver: ResourceResolver, o: KubeObject): Promise<void> {
  const p = await resolver.path(o);
  const collection = p.slice(0, p.lastIndexOf('/'));
  const body = JSON.stringify(o);
  const created = await request(
    client,
    'POST',
    `${collection}?fieldManager=${FIELD_MANAGER}`,
    body,
    'application/json',
    60_000,
  );
  if (created.status < 300) return;
  if (created.status !== 409) {
    throw new KubeEnvError(
      `create ${o.kind} ${o.metadata.name}: ${created.status} ${created.body.slice(0, 2000)}`,
    );
  }
  const res = await request(
    client,
    'PATCH',
    `${p}?fieldManager=${FIELD_MANAGER}&force=true`,
    body,
    'application/apply-patch+yaml',
    60_000,
  );
  if (res.status >= 300) {
    throw new KubeEnvError(`apply ${o.kind} ${o.metadata.name}: ${res.status} ${res.body.slice(0, 2000)}`);
  }
}

function request(
  client: Client,
  method: string,
  pathAndQuery: string,
  body?: string,
  contentType?: string,
  timeoutMs = 30_000,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      `${client.server}${pathAndQuery}`,
      {
        method,
        ca: client.caPem,
        headers: {
          authorization: `Bearer ${client.token}`,
          accept: 'application/json',
          ...(body !== undefined ? { 'content-type': contentType ?? 'application/json' } : {}),
        },
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () =>
      req.destroy(new Error(`${method} ${pathAndQuery}: timed out after ${timeoutMs} ms`)),
    );
    req.on('error', reject);
    req.end(body);
  });
}

// ---------------------------------------------------------------------------------------

const phaseStarts = new Map<string, number>();

/** Startup timings on stderr when ROTOR_KUBE_ENV_DEBUG is set. */
function phase(cluster: string, what: string, first = false): void {
  if (!process.env.ROTOR_KUBE_ENV_DEBUG) return;
  if (first) phaseStarts.set(cluster, Date.now());
  const ms = Date.now() - (phaseStarts.get(cluster) ?? Date.now());
  process.stderr.write(`[kube-env ${cluster}] +${ms} ms ${what}\n`);
}

async function tail(file: string, lines = 40): Promise<string> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text.split('\n').slice(-lines).join('\n');
}
