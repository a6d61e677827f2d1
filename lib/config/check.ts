import { existsSync, readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { Config } from '../config.js';

/**
 * What the schema cannot see: files that must exist, kubeconfig contexts, credentials that
 * must be complete, names that must be unique. Run by loadConfig, so `rotor config check`,
 * `rotor serve`, `npm start` and the Functions host refuse the same configurations.
 */
export interface ConfigProblem {
  path: (string | number)[];
  message: string;
}

export function checkConfig(config: Config): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const add = (path: (string | number)[], message: string) => problems.push({ path, message });

  for (const [list, items] of [
    ['keyVaults', config.keyVaults],
    ['vaults', config.vaults],
    ['clusters', config.clusters],
  ] as const) {
    const seen = new Set<string>();
    items.forEach((item, i) => {
      if (seen.has(item.name)) add([list, i, 'name'], `"${item.name}" is configured twice`);
      seen.add(item.name);
    });
  }

  config.clusters.forEach((cluster, i) => {
    if (cluster.kubeconfig !== undefined) {
      if (!existsSync(cluster.kubeconfig)) {
        add(['clusters', i, 'kubeconfig'], `kubeconfig file ${cluster.kubeconfig} does not exist`);
        return;
      }
      for (const m of kubeconfigProblems(readFileSync(cluster.kubeconfig, 'utf8'), cluster.context))
        add(['clusters', i, 'kubeconfig'], `${cluster.kubeconfig}: ${m}`);
    } else if (cluster.kubeconfigYaml !== undefined) {
      for (const m of kubeconfigProblems(cluster.kubeconfigYaml.reveal(), cluster.context))
        add(['clusters', i, 'kubeconfigYaml'], m);
    }
  });

  config.vaults.forEach((vault, i) => {
    if (!vault.auth) {
      add(
        ['vaults', i, 'auth'],
        `vault "${vault.name}" has no credentials: add auth: { method: token, token: ... } or auth: { method: approle, roleId: ..., secretId: ... }`,
      );
    }
    if (vault.tls.caFile && !existsSync(vault.tls.caFile))
      add(['vaults', i, 'tls', 'caFile'], `CA file ${vault.tls.caFile} does not exist`);
  });
  config.keyVaults.forEach((kv, i) => {
    if (kv.tls.caFile && !existsSync(kv.tls.caFile))
      add(['keyVaults', i, 'tls', 'caFile'], `CA file ${kv.tls.caFile} does not exist`);
  });
  if (config.state.connectionString && config.state.accountUrl) {
    add(['state'], 'give either a connection string or an account URL for the state store, not both');
  }
  return problems;
}

interface KubeconfigFile {
  'current-context'?: string;
  contexts?: Array<{ name?: string; context?: { cluster?: string; user?: string } }>;
  clusters?: Array<{ name?: string }>;
  users?: Array<{ name?: string }>;
}

function kubeconfigProblems(text: string, context: string | undefined): string[] {
  let kc: KubeconfigFile;
  try {
    kc = (parseYaml(text) ?? {}) as KubeconfigFile;
  } catch (error) {
    return [`not a valid kubeconfig: ${(error as Error).message.split('\n')[0]}`];
  }
  const contexts = kc.contexts ?? [];
  const names = contexts.map((c) => c.name).filter((n): n is string => typeof n === 'string');
  const wanted = context ?? kc['current-context'];
  if (!wanted)
    return [`no context named and no current-context set (contexts: ${names.join(', ') || 'none'})`];
  const found = contexts.find((c) => c.name === wanted);
  if (!found) return [`context "${wanted}" not found (contexts: ${names.join(', ') || 'none'})`];
  const problems: string[] = [];
  const cluster = found.context?.cluster;
  const user = found.context?.user;
  if (!cluster || !(kc.clusters ?? []).some((c) => c.name === cluster))
    problems.push(`context "${wanted}" names cluster "${cluster ?? ''}", which is not in the file`);
  if (!user || !(kc.users ?? []).some((u) => u.name === user))
    problems.push(`context "${wanted}" names user "${user ?? ''}", which is not in the file`);
  return problems;
}

/**
 * What a configuration that loads fine still lacks to do anything, each with how to set it.
 * `rotor config check` and GET /api/health report these; an empty environment is not "healthy".
 */
export function configGaps(config: Config): string[] {
  const gaps: string[] = [];
  const howTo =
    'write them in a YAML file and set ROTOR_CONFIG=/path/to/rotor.yaml (in the environment or a .env file), or put the JSON in ROTOR_CONFIG_JSON';
  if (config.keyVaults.length === 0 && config.vaults.length === 0)
    gaps.push(`no secret sources: no keyVaults or vaults are configured; ${howTo}`);
  if (config.clusters.length === 0)
    gaps.push(`no clusters: rotor has nowhere to refresh secrets or restart workloads; ${howTo}`);
  return gaps;
}
