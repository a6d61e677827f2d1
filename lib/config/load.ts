import { type Config, ConfigSchema, ENV_KEYS } from '../config.js';
import { checkConfig } from './check.js';
import { readConfigDocument } from './document.js';
import { type Environment, readEnvironment, resolveUserPath } from './environment.js';
import { type ConfigPath, validateConfig } from './validate.js';

/**
 * Reads the configuration document (ROTOR_CONFIG or ROTOR_CONFIG_JSON), overlays the single
 * settings from the environment, and validates all of it: unknown keys (with the closest
 * valid one), the schema, then checkConfig. Every problem is reported at once, each named
 * the way the user wrote it: `ROTOR_WEBHOOK_TOKEN: ...`, `rotor.yaml:12:5 clusters.0...`.
 */
export function loadConfig(
  env: Environment | Record<string, string | undefined> = readEnvironment(),
): Config {
  const { vars, baseDir } = isEnvironment(env) ? env : { vars: env, baseDir: process.cwd() };
  const document = readConfigDocument(vars, (p) => resolveUserPath(p, baseDir));
  const doc: Record<string, unknown> = structuredClone(document.value);
  if (document.dir) resolveDocumentPaths(doc, document.dir);

  const origins = new Map<string, string>();
  if (!doc.state && (vars.AzureWebJobsStorage || vars.AzureWebJobsStorage__accountName)) {
    doc.state = vars.AzureWebJobsStorage
      ? { connectionString: vars.AzureWebJobsStorage }
      : { accountUrl: `https://${vars.AzureWebJobsStorage__accountName}.table.core.windows.net` };
    origins.set(
      'state',
      vars.AzureWebJobsStorage ? 'AzureWebJobsStorage' : 'AzureWebJobsStorage__accountName',
    );
  }
  for (const [key, path] of Object.entries(ENV_KEYS)) {
    const value = vars[key];
    if (value === undefined || value === '') continue;
    setPath(doc, path, value);
    origins.set(path.join('.'), key);
  }

  const where = (path: ConfigPath): string => {
    for (let n = path.length; n > 0; n--) {
      const setting = origins.get(path.slice(0, n).join('.'));
      if (setting) return setting;
    }
    const dotted = path.join('.') || '(root)';
    const at = document.locate(path);
    return at ? `${at} ${dotted}` : document.source ? `${document.source} ${dotted}` : dotted;
  };
  return validateConfig(ConfigSchema, doc, { where, earlier: document.errors, deep: checkConfig });
}

function isEnvironment(env: object): env is Environment {
  return 'vars' in env && 'baseDir' in env && typeof (env as Environment).baseDir === 'string';
}

/** File paths inside the document are relative to the document's folder, as kubectl reads kubeconfigs. */
function resolveDocumentPaths(doc: Record<string, unknown>, dir: string): void {
  const fix = (holder: unknown, key: string) => {
    if (typeof holder !== 'object' || holder === null) return;
    const record = holder as Record<string, unknown>;
    if (typeof record[key] === 'string') record[key] = resolveUserPath(record[key], dir);
  };
  for (const list of ['clusters', 'vaults', 'keyVaults']) {
    const items = doc[list];
    if (!Array.isArray(items)) continue;
    for (const item of items) {
      fix(item, 'kubeconfig');
      fix((item as { tls?: unknown } | null)?.tls, 'caFile');
    }
  }
}

function setPath(target: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    node[key] = typeof next === 'object' && next !== null ? { ...(next as object) } : {};
    node = node[key] as Record<string, unknown>;
  }
  node[path[path.length - 1] as string] = value;
}
