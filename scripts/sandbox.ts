/**
 * `npm run sandbox`: the demo's environment, kept running to poke at. Starts the real
 * servers, rotor's local host and the operator stand-ins, deploys the sample app, writes
 * .cache/sandbox/{kubeconfig,sandbox.env,rotor.yaml}, prints paste-ready commands, then one
 * line per event rotor handles. Enter prints the last event's full timeline; Ctrl-C stops
 * and removes everything. `npm run sandbox -- kv-set NAME VALUE` (another terminal) writes
 * a Key Vault version and delivers its Event Grid event to the running sandbox.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import type { Outcome } from '../lib/outcome.js';
import type { EnvDescriptor } from '../test/env/descriptor.js';
import { keyVaultClientForTest } from '../test/env/keyvault-client.js';
import { onUnexpectedExit, tailFile, type UnexpectedExit } from '../test/env/managed-process.js';
import { startEnvironment } from '../test/env/sandbox.js';
import { sandboxConfigDocument } from '../test/sandbox/config.js';
import { eventLine, rolloutLines, timelineLines } from '../test/sandbox/event-line.js';
import { type SampleApp, seedAndDeploy } from '../test/sandbox/sample-app.js';
import { startSandbox } from '../test/sandbox/sandbox.js';
import { keyVaultEvent, postEventGrid } from '../test/sandbox/scenarios.js';

const ROOT = join(import.meta.dirname, '..');
// ROTOR_SANDBOX_DIR / ROTOR_SANDBOX_CLUSTERS: a test runs a sandbox of its own beside yours.
const DIR = process.env.ROTOR_SANDBOX_DIR ?? join(ROOT, '.cache', 'sandbox');
const CLUSTERS = Number(process.env.ROTOR_SANDBOX_CLUSTERS ?? 2);
const STATE = join(DIR, 'sandbox.json');
const say = (msg: string) => console.log(`${new Date().toISOString().slice(11, 19)}  ${msg}`);

interface SandboxState {
  hostUrl: string;
  hostKey: string;
  keyVault: EnvDescriptor['lowkey'];
}

async function main(args: string[]): Promise<number> {
  if (args[0] === 'kv-set') return kvSet(args[1], args[2]);
  if (args.length > 0) {
    console.error('usage: npm run sandbox [-- kv-set NAME VALUE]');
    return 2;
  }
  say('starting the sandbox (first run builds kube-apiserver; later runs take seconds)');
  // A server that dies takes the sandbox down with it, cleanly: a half-sandbox only misleads.
  let died: (exit: UnexpectedExit) => void = () => undefined;
  const death = new Promise<UnexpectedExit>((resolve) => {
    died = resolve;
  });
  onUnexpectedExit((exit) => died(exit));
  const env = await startEnvironment({ clusters: CLUSTERS, log: (m) => say(`  ${m}`) });
  const outcomes: Outcome[] = [];
  let sandbox: Awaited<ReturnType<typeof startSandbox>> | undefined;
  const stop = async () => {
    await sandbox?.stop();
    await env.stop();
    rmSync(DIR, { recursive: true, force: true });
  };
  try {
    sandbox = await startSandbox(env.descriptor, {
      onOutcome: (o) => {
        outcomes.push(o);
        console.log(eventLine(o));
        for (const l of rolloutLines(o)) console.log(l);
      },
      // rotor answers before the rollouts end; their end is told when it comes.
      onFollowUp: (o) => {
        for (const l of rolloutLines(o)) console.log(l);
      },
      config: { logLevel: 'error' },
    });
    const app: SampleApp = {
      namespace: 'demo',
      kvSecret: 'demo-db-password',
      csiSecret: 'demo-db-password',
      vaultMount: env.descriptor.openbao.kvMount,
      vaultPath: 'demo/api',
      vsoRefreshAfter: '60s',
    };
    const random = () => randomBytes(12).toString('base64url');
    await seedAndDeploy(sandbox, app, { kv: random(), vault: random() });
    outcomes.length = 0;
    writeFiles(env.descriptor, sandbox.host.url, sandbox.host.key);
    printWelcome(env.descriptor, app);
  } catch (error) {
    await stop();
    throw error;
  }
  const lines = createInterface({ input: process.stdin });
  lines.on('line', () => {
    const last = outcomes.at(-1);
    if (!last) return console.log('  no event handled yet');
    console.log(`  timeline of ${last.ref} (event ${last.eventId}):`);
    for (const l of timelineLines(last)) console.log(l);
  });
  const ended = await Promise.race([
    death,
    new Promise<undefined>((resolve) => {
      process.once('SIGINT', () => resolve(undefined));
      process.once('SIGTERM', () => resolve(undefined));
    }),
  ]);
  lines.close();
  if (ended) {
    const how = ended.signal ? `killed by ${ended.signal}` : `exit code ${ended.code}`;
    say(`${ended.name} (pid ${ended.pid}) stopped unexpectedly (${how}); its log: ${ended.logPath}`);
    console.error((await tailFile(ended.logPath, 10)).replace(/^/gm, '    '));
  }
  say('stopping: rotor host, stand-ins, clusters, OpenBao, Key Vault stand-in, Azurite, PostgreSQL');
  await stop();
  say(`stopped; removed ${DIR}`);
  if (ended) say(`the sandbox stopped because ${ended.name} died; start it again with npm run sandbox`);
  return ended ? 1 : 0;
}

function writeFiles(env: EnvDescriptor, hostUrl: string, hostKey: string): void {
  mkdirSync(DIR, { recursive: true });
  // One kubeconfig with a context per cluster (the admin identity, as a person poking uses).
  const merged = { apiVersion: 'v1', kind: 'Config', clusters: [], users: [], contexts: [] } as Record<
    string,
    unknown[] | string
  >;
  for (const c of env.clusters) {
    const kc = parseYaml(c.adminKubeconfig) as Record<string, unknown[]>;
    for (const key of ['clusters', 'users', 'contexts']) (merged[key] as unknown[]).push(...(kc[key] ?? []));
  }
  merged['current-context'] = (parseYaml(env.clusters[0]?.adminKubeconfig ?? '') as Record<string, string>)[
    'current-context'
  ] as string;
  writeFileSync(join(DIR, 'kubeconfig'), toYaml(merged), { mode: 0o600 });
  const doc = sandboxConfigDocument(env, { dir: DIR, tablePrefix: 'sandboxcli' });
  writeFileSync(join(DIR, 'rotor.yaml'), toYaml(doc), { mode: 0o600 });
  const vars: Record<string, string> = {
    KUBECONFIG: join(DIR, 'kubeconfig'),
    VAULT_ADDR: env.openbao.address,
    VAULT_TOKEN: env.openbao.rootToken,
    KEYVAULT_URL: env.lowkey.vaultUrl,
    KEYVAULT_CA: join(DIR, 'keyvault-ca.pem'),
    ROTOR_URL: hostUrl,
    ROTOR_HOST_KEY: hostKey,
    ROTOR_CONFIG: join(DIR, 'rotor.yaml'),
  };
  writeFileSync(
    join(DIR, 'sandbox.env'),
    `${Object.entries(vars)
      .map(([k, v]) => `export ${k}=${v}`)
      .join('\n')}\n`,
    { mode: 0o600 },
  );
  const state: SandboxState = { hostUrl, hostKey, keyVault: env.lowkey };
  writeFileSync(STATE, JSON.stringify(state), { mode: 0o600 });
}

function printWelcome(env: EnvDescriptor, app: SampleApp): void {
  const rel = (p: string) => p.replace(`${ROOT}/`, '');
  const mount = app.vaultMount;
  console.log(`
rotor sandbox is running: ${env.clusters.length} clusters (${env.clusters.map((c) => c.name).join(', ')}), OpenBao, Key Vault stand-in, rotor's host.
Files: ${rel(DIR)}/kubeconfig, sandbox.env, rotor.yaml. In another terminal, from the checkout:

  source ${rel(DIR)}/sandbox.env

  # the sample app: a Deployment fed by an ExternalSecret (Key Vault), a VaultStaticSecret (OpenBao), a CSI class
  kubectl -n ${app.namespace} get deploy,externalsecrets,vaultstaticsecrets,secretproviderclasses,secrets
  kubectl -n ${app.namespace} get deploy web -o jsonpath='{.spec.template.spec.containers[0].env}'; echo

  # change the OpenBao secret: OpenBao's audit device tells rotor, which refreshes and restarts
  curl -s -H "X-Vault-Token: $VAULT_TOKEN" -d '{"data":{"API_KEY":"hand-made-1"}}' $VAULT_ADDR/v1/${mount}/data/${app.vaultPath} >/dev/null

  # a new Key Vault version plus its Event Grid event
  npm run sandbox -- kv-set ${app.kvSecret} hand-made-2

  # rotor's host answers with the key from sandbox.env (every route needs one)
  curl -s -H "x-functions-key: $ROTOR_HOST_KEY" $ROTOR_URL/api/health | jq '.ok, [.checks[] | .name]'

  # what rotor would do, without doing it; then check config and permissions
  npx rotor plan --keyvault ${env.lowkey.vaultName} --name ${app.kvSecret}
  npx rotor config check --probe

One line per event rotor handles appears below. Enter: the last event's full timeline. Ctrl-C: stop and clean up.
`);
}

/** Another terminal's `kv-set`: a new version in the stand-in, then the event Event Grid would deliver. */
async function kvSet(name: string | undefined, value: string | undefined): Promise<number> {
  if (!name || !value) {
    console.error('usage: npm run sandbox -- kv-set NAME VALUE');
    return 2;
  }
  let state: SandboxState;
  try {
    state = JSON.parse(readFileSync(STATE, 'utf8')) as SandboxState;
  } catch {
    console.error('no sandbox is running: start one with npm run sandbox');
    return 1;
  }
  const written = await keyVaultClientForTest(state.keyVault).setSecret(name, value);
  const version = written.properties.version ?? '';
  await postEventGrid({ host: { url: state.hostUrl, key: state.hostKey } }, [
    keyVaultEvent(state.keyVault.vaultName, name, version),
  ]);
  console.log(
    `Key Vault ${state.keyVault.vaultName}/${name}: new version ${version}; Event Grid event delivered`,
  );
  return 0;
}

main(process.argv.slice(2))
  .then((code) => process.exit(code))
  .catch((error: unknown) => {
    const e = error as Error;
    console.error(`sandbox failed: ${e.message ?? e}`);
    process.exit(1);
  });
