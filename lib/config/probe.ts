import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DefaultAzureCredential } from '@azure/identity';
import { AuthorizationV1Api } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { createSecretClient } from '../backends/keyvault/client.js';
import { caOf, createVaultClient, VaultAuth } from '../backends/vault/client.js';
import type { Config, VaultConfig } from '../config.js';
import { describeError } from '../errors.js';
import { GVR } from '../kube/api/gvr.js';
import { ClusterRegistry } from '../kube/cluster.js';
import { probeCluster } from '../kube/fanout.js';
import { Tables } from '../state/tables.js';
import { packageRoot } from './environment.js';

/**
 * `rotor config check --probe`: connects to every configured target and checks that
 * rotor's identity holds what it needs there: a SelfSubjectAccessReview per verb of
 * infra/k8s/rbac.yaml in each cluster, the Vault token's capabilities on each mount, a
 * Key Vault list. What a user runs after deploying; it writes nothing anywhere.
 */
export interface ProbeCheck {
  what: string;
  ok: boolean;
  detail?: string;
}
export interface ProbeTarget {
  kind: 'cluster' | 'vault' | 'keyvault' | 'state';
  name: string;
  reachable: boolean;
  ms: number;
  error?: string;
  checks: ProbeCheck[];
}
export interface ProbeReport {
  ok: boolean;
  targets: ProbeTarget[];
}

const TIMEOUT_MS = 5_000;

export async function probeConfig(config: Config): Promise<ProbeReport> {
  const clusters = new ClusterRegistry(
    config.clusters,
    config.clusters.some((c) => c.aks) ? new DefaultAzureCredential() : undefined,
  );
  const rules = rbacRules();
  const targets = await Promise.all([
    ...config.clusters.map((c) =>
      target('cluster', c.name, async () => {
        const client = await clusters.get(c.name);
        await probeCluster(client, TIMEOUT_MS);
        return async () => clusterChecks(client.kc.makeApiClient(AuthorizationV1Api), rules, c.namespaces);
      }),
    ),
    ...config.vaults.map((v) => target('vault', v.name, () => vaultProbe(v))),
    ...config.keyVaults.map((kv) =>
      target('keyvault', kv.name, async () => {
        const client = await createSecretClient(kv);
        await client.listPropertiesOfSecrets().byPage({ maxPageSize: 1 }).next();
        return async () => [{ what: 'list secrets', ok: true }];
      }),
    ),
    ...(config.state.connectionString || config.state.accountUrl
      ? [
          target('state', 'table-storage', async () => {
            await new Tables(config.state).get('idempotency');
            return async () => [{ what: 'create and read tables', ok: true }];
          }),
        ]
      : []),
  ]);
  return { ok: targets.every((t) => t.reachable && t.checks.every((c) => c.ok)), targets };
}

/** `connect` proves reachability (and returns the permission checks to run); any throw is "unreachable". */
async function target(
  kind: ProbeTarget['kind'],
  name: string,
  connect: () => Promise<() => Promise<ProbeCheck[]>>,
): Promise<ProbeTarget> {
  const start = performance.now();
  let checks: () => Promise<ProbeCheck[]>;
  try {
    checks = await connect();
  } catch (error) {
    const ms = Math.round(performance.now() - start);
    return { kind, name, reachable: false, ms, error: describeError(error).message, checks: [] };
  }
  const ms = Math.round(performance.now() - start);
  try {
    return { kind, name, reachable: true, ms, checks: await checks() };
  } catch (error) {
    return { kind, name, reachable: true, ms, error: describeError(error).message, checks: [] };
  }
}

interface Rule {
  apiGroup: string;
  resource: string;
  verb: string;
  namespace?: string;
}

/** Every (group, resource, verb) the RBAC manifest grants: what rotor's code calls. */
function rbacRules(file = join(packageRoot(), 'infra', 'k8s', 'rbac.yaml')): Rule[] {
  if (!existsSync(file)) return [];
  const out: Rule[] = [];
  for (const doc of parseAllDocuments(readFileSync(file, 'utf8'))) {
    const role = doc.toJS() as {
      kind?: string;
      metadata?: { namespace?: string };
      rules?: Array<{ apiGroups?: string[]; resources?: string[]; verbs?: string[] }>;
    } | null;
    if (role?.kind !== 'ClusterRole' && role?.kind !== 'Role') continue;
    for (const r of role.rules ?? [])
      for (const apiGroup of r.apiGroups ?? [''])
        for (const resource of r.resources ?? [])
          for (const verb of r.verbs ?? [])
            out.push({
              apiGroup,
              resource,
              verb,
              ...(role.metadata?.namespace ? { namespace: role.metadata.namespace } : {}),
            });
  }
  return out;
}

/** Kinds a RoleBinding cannot grant: rotor skips the two ESO ones in namespaced mode when not granted. */
const CLUSTER_SCOPED = new Set<string>(
  Object.values(GVR)
    .filter((g) => !g.namespaced)
    .map((g) => g.plural),
);

/**
 * A SelfSubjectAccessReview per rule. Namespaced mode (`namespaces`): each namespaced rule in
 * each namespace, `get namespaces` on each namespace itself, and the cluster-scoped kinds as
 * optional (skipped by rotor when not granted, so not a failure).
 */
async function clusterChecks(
  api: AuthorizationV1Api,
  rules: Rule[],
  namespaces?: readonly string[],
): Promise<ProbeCheck[]> {
  if (rules.length === 0)
    return [{ what: 'permissions', ok: false, detail: 'infra/k8s/rbac.yaml not found' }];
  type Review = Rule & { name?: string; optional?: boolean };
  const reviews: Review[] = namespaces
    ? rules.flatMap((r): Review[] => {
        if (CLUSTER_SCOPED.has(r.resource)) return [{ ...r, optional: true }];
        const self = r.resource === 'namespaces' && r.apiGroup === '';
        return namespaces.map((namespace) => ({ ...r, namespace, ...(self ? { name: namespace } : {}) }));
      })
    : rules;
  return Promise.all(
    reviews.map(async (r): Promise<ProbeCheck> => {
      const what = `${r.verb} ${r.apiGroup ? `${r.resource}.${r.apiGroup}` : r.resource}${r.namespace ? ` in ${r.namespace}` : ''}`;
      const review = await api.createSelfSubjectAccessReview({
        body: {
          apiVersion: 'authorization.k8s.io/v1',
          kind: 'SelfSubjectAccessReview',
          spec: {
            resourceAttributes: {
              group: r.apiGroup,
              resource: r.resource,
              verb: r.verb,
              ...(r.namespace ? { namespace: r.namespace } : {}),
              ...(r.name ? { name: r.name } : {}),
            },
          },
        },
      });
      const allowed = review.status?.allowed === true;
      if (!allowed && r.optional)
        return {
          what,
          ok: true,
          detail:
            'not granted: namespaced mode skips this cluster-scoped kind (infra/k8s/namespaced/cluster-scoped.yaml grants it)',
        };
      return { what, ok: allowed, ...(allowed ? {} : { detail: review.status?.reason || 'denied' }) };
    }),
  );
}

/** Paths rotor reads and writes per KV mount, and the capabilities each needs. */
function mountNeeds(vault: VaultConfig): Array<{ path: string; need: string[] }> {
  return vault.mounts.flatMap((m) => {
    const mount = m.path.replace(/^\/+|\/+$/g, '');
    const write = vault.rotate ? ['create', 'update'] : [];
    return m.version === '2'
      ? [
          { path: `${mount}/data/rotor-probe`, need: ['read', ...write] },
          { path: `${mount}/metadata/rotor-probe`, need: ['read', 'list'] },
        ]
      : [{ path: `${mount}/rotor-probe`, need: ['read', 'list', ...write] }];
  });
}

async function vaultProbe(vault: VaultConfig): Promise<() => Promise<ProbeCheck[]>> {
  const ca = caOf(vault);
  const client = await createVaultClient({
    endpoint: vault.address,
    namespace: vault.namespace,
    ...(ca ? { ca } : {}),
  });
  await client.health({ standbyok: true, perfstandbyok: true });
  return async () => {
    try {
      await new VaultAuth(vault).authenticate(client);
      await client.tokenLookupSelf();
    } catch (error) {
      const status = (error as { response?: { statusCode?: number } }).response?.statusCode;
      const detail =
        status === 403 || status === 401
          ? 'the token is invalid or expired (token lookup refused)'
          : describeError(error).message;
      return [{ what: `log in (${vault.auth?.method ?? 'no auth configured'})`, ok: false, detail }];
    }
    const needs = mountNeeds(vault);
    const answer = (await client.write('sys/capabilities-self', {
      paths: needs.map((n) => n.path),
    })) as Record<string, unknown>;
    return [
      { what: `log in (${vault.auth?.method})`, ok: true },
      ...needs.map(({ path, need }): ProbeCheck => {
        const caps = Array.isArray(answer[path]) ? (answer[path] as string[]) : [];
        const lacking = caps.includes('root') ? [] : need.filter((c) => !caps.includes(c));
        return {
          what: `${need.join(', ')} on ${path.replace(/rotor-probe$/, '*')}`,
          ok: lacking.length === 0,
          ...(lacking.length
            ? { detail: `missing ${lacking.join(', ')} (has ${caps.join(', ') || 'none'})` }
            : {}),
        };
      }),
    ];
  };
}

export function formatProbe(report: ProbeReport): string {
  const lines = ['probe (connects to each target; writes nothing):'];
  for (const t of report.targets) {
    const state = t.reachable ? `reachable (${t.ms} ms)` : `UNREACHABLE: ${t.error}`;
    lines.push(`${t.kind} ${t.name}: ${state}`);
    if (t.reachable && t.error) lines.push(`  FAILED: ${t.error}`);
    const denied = t.checks.filter((c) => !c.ok);
    if (t.checks.length > 0 && denied.length === 0)
      lines.push(
        t.checks.length === 1
          ? '  the 1 permission it needs is held'
          : `  all ${t.checks.length} permissions held`,
      );
    for (const c of denied) lines.push(`  MISSING ${c.what}${c.detail ? `: ${c.detail}` : ''}`);
  }
  if (report.targets.length === 0) lines.push('nothing to probe');
  lines.push(report.ok ? 'probe: everything reachable, every permission held' : 'probe: FAILED (see above)');
  return lines.join('\n');
}
