import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { type Config, loadConfig } from './config.js';
import { ConfigError, describeError, RotorError, ValidationError } from './errors.js';
import { resolveRefInput } from './ref-input.js';

/**
 * `rotor` command line. Every command prints human text, or JSON with --json; errors
 * say what to do and exit non-zero (2 for usage and configuration, 1 for failures).
 */
const USAGE = `usage: rotor <command> [options]

commands:
  serve                       run the local host (same routes as the Functions app) on PORT (7071)
  plan    SECRET              dry run: what would refresh and restart, per cluster
  rotate  SECRET              write a new version now, then refresh and restart
  refresh SECRET              force derived objects to sync and restart consumers (no rotation)
  hash    -f FILE             Reloader hash of a Secret or ConfigMap manifest (YAML or JSON)
  config check                validate the configuration and print what was understood
  demo                        run the local sandbox demo (same as npm run demo)

SECRET:  --keyvault NAME --name NAME
         --vault NAME|ADDRESS [--mount secret] --path PATH [--namespace NS]
options: --json  machine-readable output     --help  this text`;

const OPTIONS = {
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  file: { type: 'string', short: 'f' },
  keyvault: { type: 'string' },
  name: { type: 'string' },
  vault: { type: 'string' },
  mount: { type: 'string' },
  path: { type: 'string' },
  namespace: { type: 'string' },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

class UsageError extends RotorError {
  constructor(message: string) {
    super('usage', `${message}\n\n${USAGE}`, false);
  }
}

type Print = (human: string, machine: unknown) => void;

const commands: Record<string, (args: string[], values: Values, print: Print) => Promise<number>> = {
  async serve() {
    const { main } = await import('./host/main.js');
    await main();
    // The host runs until SIGINT/SIGTERM, which main() handles by closing and exiting.
    return new Promise<number>(() => undefined);
  },
  plan: (_a, v, print) =>
    withApp(async (app) => {
      const plan = await app.plan(refFrom(v, app.config));
      print(formatPlan(plan), plan);
    }),
  rotate: (_a, v, print) =>
    withApp(async (app) => printOutcome(print, await app.rotate(refFrom(v, app.config)))),
  refresh: (_a, v, print) =>
    withApp(async (app) => printOutcome(print, await app.refresh(refFrom(v, app.config)))),
  async hash(_a, v, print) {
    if (!v.file) throw new UsageError('hash needs -f FILE');
    const { hashManifestFile } = await import('./kube/restart/index.js');
    // SHA-1, as every Reloader release writes it.
    const result = await hashManifestFile(v.file);
    print(`${result.kind} ${result.name}: ${result.hash}`, result);
    return 0;
  },
  async config(args, _v, print) {
    if (args[0] !== 'check') throw new UsageError('did you mean: rotor config check');
    const config = loadConfig();
    print(describeConfig(config), config);
    return 0;
  },
  async demo() {
    const r = spawnSync(process.execPath, ['scripts/demo.mjs'], { stdio: 'inherit' });
    return r.status ?? 1;
  },
};

async function withApp(fn: (app: import('./app-types.js').App) => Promise<unknown>): Promise<number> {
  const { createApp } = await import('./app.js');
  const app = await createApp(loadConfig());
  try {
    const failed = await fn(app);
    return failed === false ? 1 : 0;
  } finally {
    await app.close();
  }
}

function printOutcome(print: Print, outcome: import('./outcome.js').Outcome): boolean {
  const lines = [
    `${outcome.ref}: ${outcome.status}${outcome.dryRun ? ' (dry run)' : ''}`,
    ...outcome.timeline.map(
      (t) => `  ${String(t.atMs).padStart(6)} ms  ${t.step}${t.detail ? `  ${t.detail}` : ''}`,
    ),
    ...outcome.refreshes.map((r) => `  refresh ${r.cluster} ${r.kind} ${r.namespace}/${r.name}: ${r.status}`),
    ...outcome.workloads.map(
      (w) =>
        `  workload ${w.cluster} ${w.kind} ${w.namespace}/${w.name}: ${w.status}${'reason' in w ? ` (${w.reason})` : ''}${'error' in w ? ` (${w.error})` : ''}`,
    ),
    ...outcome.clusterFailures.map((c) => `  cluster ${c.cluster}: ${c.error}`),
  ];
  print(lines.join('\n'), outcome);
  return outcome.status !== 'failed' && outcome.status !== 'partial';
}

function refFrom(v: Values, config: Config) {
  try {
    if (v.keyvault) return resolveRefInput({ keyVault: v.keyvault, name: v.name }, config);
    if (v.vault)
      return resolveRefInput(
        { vault: v.vault, mount: v.mount, path: v.path, namespace: v.namespace },
        config,
      );
  } catch (error) {
    // A secret named wrongly on the command line is a usage error (exit 2), like a missing flag.
    if (error instanceof ValidationError) throw new UsageError(error.message);
    throw error;
  }
  throw new UsageError('name the secret with --keyvault NAME --name NAME, or --vault NAME --path PATH');
}

function formatPlan(plan: import('./app-types.js').Plan): string {
  const lines = [`plan for ${plan.ref} (nothing written)`];
  for (const c of plan.clusters) {
    lines.push(`cluster ${c.cluster}${c.error ? `: unreachable (${c.error})` : ''}`);
    for (const d of c.derived) {
      const target = d.targetSecret ? ` -> Secret ${d.targetSecret}` : '';
      lines.push(
        `  ${d.operator} ${d.kind} ${d.namespace}/${d.name}${target}${d.warnings.map((w) => `\n    ! ${w}`).join('')}`,
      );
    }
    for (const w of c.workloads)
      lines.push(
        `  restart ${w.kind} ${w.namespace}/${w.name}: ${w.action}${w.reason ? ` (${w.reason})` : ''}`,
      );
    if (c.derived.length === 0 && !c.error) lines.push('  nothing derives from this secret here');
  }
  return lines.join('\n');
}

export function describeConfig(config: Config): string {
  return [
    `key vaults (${config.keyVaults.length}): ${config.keyVaults.map((k) => `${k.name}${k.rotate ? ' [rotate]' : ''}`).join(', ') || 'none'}`,
    `vaults (${config.vaults.length}): ${config.vaults.map((v) => `${v.name}=${v.address} mounts ${v.mounts.map((m) => m.path).join('/')}`).join(', ') || 'none'}`,
    `clusters (${config.clusters.length}): ${config.clusters.map((c) => c.name).join(', ') || 'none'}`,
    `restart: strategy ${config.restart.strategy}, coalesce ${config.restart.coalesceWindowMs} ms${config.restart.dryRun ? ', dry run' : ''}`,
    `rotation: schedule "${config.rotation.schedule}", near-expiry window ${config.rotation.nearExpiryWindowDays} d`,
    `state: ${config.state.connectionString ? 'connection string' : (config.state.accountUrl ?? 'not configured')}`,
    `vault audit webhook auth: ${config.webhook.bearerToken ? 'bearer token' : config.webhook.hmacSecret ? 'HMAC' : 'none (every request refused)'}`,
    `notifications: ${config.notifications.map((n) => n.kind).join(', ') || 'none'}`,
  ].join('\n');
}

export async function runCli(argv: string[]): Promise<number> {
  let parsed: { values: Values; positionals: string[] };
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    console.error(`rotor: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const [command, ...rest] = parsed.positionals;
  if (parsed.values.help || !command) {
    console.log(USAGE);
    return command || parsed.values.help ? 0 : 2;
  }
  const run = commands[command];
  if (!run) {
    console.error(`rotor: unknown command "${command}"\n\n${USAGE}`);
    return 2;
  }
  const print: Print = (human, machine) =>
    console.log(parsed.values.json ? JSON.stringify(machine, null, 2) : human);
  try {
    return await run(rest, parsed.values, print);
  } catch (error) {
    const e = describeError(error);
    if (parsed.values.json) console.error(JSON.stringify({ error: e.code, message: e.message }));
    else console.error(`rotor: ${e.message}`);
    return error instanceof ConfigError || error instanceof UsageError ? 2 : 1;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  runCli(process.argv.slice(2)).then((code) => process.exit(code));
}
