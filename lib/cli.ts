import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { App } from './app-types.js';
import { configSummary, describeConfig, formatOutcome } from './cli/format.js';
import { formatPlan, planComplete } from './cli/plan.js';
import { secretFromFlags, UsageError } from './cli/secret-flags.js';
import { configGaps } from './config/check.js';
import { packageRoot } from './config/environment.js';
import { loadConfig } from './config/load.js';
import type { Config } from './config.js';
import { ConfigError, describeError, ValidationError } from './errors.js';
import { parseEventId } from './intake/run-status.js';
import type { Outcome } from './outcome.js';
import type { SecretRef } from './secret-ref.js';

/**
 * `rotor` command line. Human text, or exactly one JSON document on stdout with --json;
 * logs always go to stderr. Exit codes: 0 done, 1 failed or partial, 2 usage or
 * configuration. Works from any folder of the checkout.
 */
const USAGE = `usage: rotor <command> [options]

commands:
  serve                       run the local host (same routes as the Functions app) on PORT (7071)
  plan    SECRET              dry run: what would refresh and restart, per cluster
  rotate  SECRET              write a new version now, then refresh and restart
  refresh SECRET              force derived objects to sync and restart consumers (no rotation)
  status  EVENT_ID            a delivery as the state store records it: claimed by whom, since
                              when, what finished, how its rollouts ended
  hash    -f FILE             Reloader hash of a Secret or ConfigMap manifest (YAML or JSON)
  config check [--probe]      validate the configuration and print what was understood;
                              --probe also connects to every target and checks rotor's permissions
  demo                        run the local sandbox demo (same as npm run demo)

SECRET:  --keyvault NAME|URL --name SECRET
         --vault NAME|ADDRESS [--mount secret] --path PATH [--namespace NS]
options: --json  one JSON document on stdout     --help  this text
exit:    0 done, 1 failed or partial, 2 usage or configuration
         (status: 0 in progress or done, 1 unknown, abandoned or failed)`;

const OPTIONS = {
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  probe: { type: 'boolean' },
  file: { type: 'string', short: 'f' },
  keyvault: { type: 'string' },
  name: { type: 'string' },
  vault: { type: 'string' },
  mount: { type: 'string' },
  path: { type: 'string' },
  namespace: { type: 'string' },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];
type Print = (human: string, machine: unknown) => void;
type Command = (args: string[], values: Values, print: Print) => Promise<number>;

const commands: Record<string, Command> = {
  async serve() {
    const { main } = await import('./host/main.js');
    await main();
    // The host runs until SIGINT/SIGTERM, which main() handles by closing and exiting.
    return new Promise<number>(() => undefined);
  },
  plan: (_a, v, print) =>
    withApp(v, async (app, ref) => {
      const plan = await app.plan(ref);
      print(formatPlan(plan), plan);
      return planComplete(plan);
    }),
  rotate: (_a, v, print) => withApp(v, async (app, ref) => printOutcome(print, await app.rotate(ref))),
  async status(args, _v, print) {
    if (args.length !== 1) throw new UsageError('status needs one event id: rotor status EVENT_ID');
    const eventId = parseEventId(args[0]);
    const { statusOf, formatStatus, requireStateStore } = await import('./cli/status.js');
    return usingApp(requireStateStore(loadConfig()), async (app) => {
      const { runs, code } = await statusOf(app, eventId);
      print(formatStatus(runs), { eventId, runs });
      return code;
    });
  },
  refresh: (_a, v, print) => withApp(v, async (app, ref) => printOutcome(print, await app.refresh(ref))),
  async hash(_a, v, print) {
    if (!v.file) throw new UsageError('hash needs -f FILE (a Secret or ConfigMap manifest)');
    const { hashManifestFile } = await import('./kube/restart/index.js');
    // SHA-1, as every Reloader release writes it.
    const result = await hashManifestFile(v.file);
    print(`${result.kind} ${result.name}: ${result.hash}`, result);
    return 0;
  },
  async config(args, v, print) {
    if (args[0] !== 'check') throw new UsageError('did you mean: rotor config check');
    const config = loadConfig();
    const missing = configGaps(config);
    if (!v.probe) {
      print(describeConfig(config, missing), configSummary(config, missing));
      return missing.length > 0 ? 2 : 0;
    }
    const { probeConfig, formatProbe } = await import('./config/probe.js');
    const report = await probeConfig(config);
    print(`${describeConfig(config, missing)}\n\n${formatProbe(report)}`, {
      ...configSummary(config, missing),
      probe: report,
    });
    return missing.length > 0 ? 2 : report.ok ? 0 : 1;
  },
  async demo() {
    const r = spawnSync(process.execPath, [join(packageRoot(), 'scripts', 'demo.mjs')], {
      stdio: 'inherit',
    });
    return r.status ?? 1;
  },
};

function stderrLog(config: Config) {
  return {
    write: (line: string) => void process.stderr.write(`${line}\n`),
    level: config.telemetry.logLevel,
  };
}

/**
 * Checks the configuration and the secret's flags first (nothing is built for a usage
 * mistake), then builds the App with its logs on stderr; `fn` returns false for a failed
 * or partial result.
 */
async function withApp(v: Values, fn: (app: App, ref: SecretRef) => Promise<boolean>): Promise<number> {
  const config = loadConfig();
  const ref = secretFromFlags(v, config);
  const missing = configGaps(config).filter((g) => g.startsWith('no clusters'));
  if (missing.length > 0) throw new ConfigError(missing);
  return usingApp(config, async (app) => ((await fn(app, ref)) ? 0 : 1));
}

/** Builds the App with its logs on stderr, runs `fn`, closes it. */
async function usingApp(config: Config, fn: (app: App) => Promise<number>): Promise<number> {
  const [{ createApp }, { createTelemetry }] = await Promise.all([
    import('./app.js'),
    import('./telemetry.js'),
  ]);
  const telemetry = createTelemetry(config.telemetry, { write: stderrLog(config).write });
  const app = await createApp(config, { telemetry });
  try {
    return await fn(app);
  } finally {
    await app.close();
  }
}

function printOutcome(print: Print, outcome: Outcome): boolean {
  print(formatOutcome(outcome), outcome);
  return outcome.status !== 'failed' && outcome.status !== 'partial';
}

/** Mistakes in the call or the configuration exit 2; everything else that failed exits 1. */
function exitCodeOf(error: unknown): number {
  return error instanceof ConfigError || error instanceof UsageError || error instanceof ValidationError
    ? 2
    : 1;
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
  const json = parsed.values.json === true;
  const print: Print = (human, machine) => console.log(json ? JSON.stringify(machine, null, 2) : human);
  try {
    return await run(rest, parsed.values, print);
  } catch (error) {
    const e = describeError(error);
    const code = exitCodeOf(error);
    if (json) console.log(JSON.stringify({ error: e.code, message: e.message }, null, 2));
    console.error(`rotor: ${e.message}${error instanceof UsageError ? `\n\n${USAGE}` : ''}`);
    return code;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  runCli(process.argv.slice(2)).then((code) => process.exit(code));
}
