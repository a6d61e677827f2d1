import { z } from 'zod';
import { validateConfig } from './config/validate.js';
import { ncrontabProblem } from './ncrontab.js';
import { secretString } from './redacted.js';
import { PostgresServerSchema } from './rotation/generators/postgres-server.js';
import { normaliseAddress } from './secret-ref.js';

/**
 * rotor's configuration schema. Small settings come from app settings (ROTOR_*, ENV_KEYS),
 * the lists from one JSON/YAML document named by ROTOR_CONFIG (a path) or given inline in
 * ROTOR_CONFIG_JSON. lib/config/ reads the environment (the only place that does) and
 * validates: `loadConfig` reports every problem at once, named as the user wrote it.
 */

const csv = z
  .union([z.string(), z.array(z.string())])
  .transform((v) => (Array.isArray(v) ? v : v.split(',')).map((s) => s.trim()).filter(Boolean));

const boolish = z
  .union([z.boolean(), z.enum(['true', 'false', '1', '0'])])
  .transform((v) => v === true || v === 'true' || v === '1');

const KeyVaultAuthSchema = z.discriminatedUnion('kind', [
  /** DefaultAzureCredential / managed identity (production). */
  z.object({ kind: z.literal('default'), managedIdentityClientId: z.string().optional() }),
  /** Emulators such as Lowkey Vault accept any bearer token; never use against Azure. */
  z.object({ kind: z.literal('emulator') }),
]);

const TlsSchema = z.object({
  /** PEM file of an extra CA to trust for this endpoint only (emulators, private CAs). */
  caFile: z.string().optional(),
});

export const KeyVaultConfigSchema = z.object({
  name: z
    .string()
    .min(1)
    .transform((n) => n.toLowerCase()),
  /** Defaults to https://<name>.vault.azure.net */
  url: z.string().url().optional(),
  /** rotor may write new versions here (custom role: read, list, write) or only reacts (Key Vault Reader). */
  rotate: boolish.default(true),
  auth: KeyVaultAuthSchema.default({ kind: 'default' }),
  tls: TlsSchema.default({}),
});

const VaultAuthSchema = z.discriminatedUnion('method', [
  z.object({ method: z.literal('token'), token: secretString() }),
  z.object({
    method: z.literal('approle'),
    roleId: z.string().min(1),
    secretId: secretString(),
    mount: z.string().default('approle'),
  }),
]);

export const VaultConfigSchema = z.object({
  name: z.string().min(1),
  address: z
    .string()
    .min(1)
    .transform((a) => normaliseAddress(a)),
  namespace: z.string().default(''),
  /** KV mounts rotor watches (and scans for due rotations). */
  mounts: z.array(z.object({ path: z.string().min(1), version: z.enum(['1', '2']).default('2') })).min(1),
  auth: VaultAuthSchema.optional(),
  /** Other spellings of this server's address as seen from clusters (in-cluster service names). */
  aliases: z
    .array(z.string())
    .default([])
    .transform((a) => a.map((x) => normaliseAddress(x))),
  rotate: boolish.default(true),
  tls: TlsSchema.default({}),
});

/** A Kubernetes namespace name (RFC 1123 label). */
const NAMESPACE_NAME = /^(?=.{1,63}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export const ClusterConfigSchema = z
  .object({
    name: z.string().min(1),
    /** kubeconfig file; with `context` picks one context of it. */
    kubeconfig: z.string().optional(),
    /** Inline kubeconfig YAML (tests, Key Vault references in app settings). */
    kubeconfigYaml: secretString().optional(),
    context: z.string().optional(),
    /** Where VSO runs in this cluster (its `default` VaultAuth / VaultConnection live there). */
    vsoNamespace: z.string().min(1).optional(),
    /**
     * Namespaced mode: rotor lists, watches, reads and restarts in these namespaces only
     * (bind infra/k8s/namespaced/rbac.yaml's Role in each). Unset: the whole cluster
     * (the ClusterRole of infra/k8s/rbac.yaml). docs/security.md says what happens to
     * cluster-scoped objects.
     */
    namespaces: z
      .array(z.string().regex(NAMESPACE_NAME, 'a namespace name is a DNS label: a-z, 0-9 and -, at most 63'))
      .min(1, 'list at least one namespace, or leave namespaces out for the whole cluster')
      .refine((list) => new Set(list).size === list.length, { message: 'a namespace is listed twice' })
      .optional(),
    /** AKS with Entra ID: API server URL and CA; token from @azure/identity. */
    aks: z
      .object({
        server: z.string().url(),
        caData: z.string().optional(),
        managedIdentityClientId: z.string().optional(),
      })
      .optional(),
  })
  .refine((c) => [c.kubeconfig, c.kubeconfigYaml, c.aks].filter(Boolean).length === 1, {
    message: 'give exactly one of kubeconfig, kubeconfigYaml or aks',
  });

export const RestartConfigSchema = z.object({
  strategy: z.enum(['env-vars', 'annotations']).default('env-vars'),
  autoReloadAll: boolish.default(false),
  /** Label selector namespaces must match (Reloader --namespace-selector). */
  namespaceSelector: z.string().default(''),
  namespacesToIgnore: csv.default([]),
  /** Label selector Secrets/ConfigMaps must match (Reloader --resource-label-selector). */
  resourceLabelSelector: z.string().default(''),
  ignoredWorkloadTypes: csv.default([]),
  /** Longest a patch waits for changes announced after it was ready (kube/restart/coalescer.ts). */
  coalesceWindowMs: z.coerce.number().int().min(0).max(60_000).default(200),
  /**
   * `coexist`: Stakater Reloader runs in the clusters too. rotor then lets it restart first:
   * a patch waits reloaderGraceMs after the last change to the workload, then writes only what
   * the template still lacks (the hash of the Secret's current data), so rotor adds no
   * rollout to Reloader's and still restarts what Reloader missed (docs/reloader.md).
   */
  reloader: z.enum(['none', 'coexist']).default('none'),
  /** coexist: how long Reloader gets; above its worst lag behind a Secret change. */
  reloaderGraceMs: z.coerce.number().int().min(0).max(30_000).default(2_000),
  dryRun: boolish.default(false),
  /**
   * Follow every restart to its end: rolled-out, or rollout-failed (ProgressDeadlineExceeded,
   * a failed Job, or not rolled out within rolloutTimeoutMs).
   */
  followRollouts: boolish.default(true),
  /** The bound of a follow-up: a rollout not finished by then has failed (reason Timeout). */
  rolloutTimeoutMs: z.coerce.number().int().min(1_000).max(3_600_000).default(600_000),
  /**
   * How long a run waits for its follow-ups before it answers; they continue afterwards and
   * are recorded when they end. Below Event Grid's 30 s delivery timeout, with room for the run.
   */
  rolloutWaitMs: z.coerce.number().int().min(0).max(20_000).default(0),
  /** Parallel API writes per cluster. */
  concurrency: z.coerce.number().int().min(1).max(64).default(8),
});

export const RefreshConfigSchema = z.object({
  timeoutMs: z.coerce.number().int().min(100).max(600_000).default(30_000),
});

/** Pipeline runs refreshing per host: a bounded queue, so one delivery can never exhaust the host. */
export const RunsConfigSchema = z.object({
  concurrency: z.coerce.number().int().min(1).max(64).default(16),
  /** Runs that may wait; past it an event is answered "busy, deliver again" (503). */
  queueLimit: z.coerce.number().int().min(0).max(100_000).default(256),
  /**
   * At SIGTERM (or the Functions worker terminating), how long runs in flight may finish;
   * the claims of the rest are given back so their redelivery proceeds at once. 4 s: below
   * the 5 s the Functions host gives its worker to terminate, and below the stop windows of
   * Docker (10 s) and Kubernetes (30 s). docs/deploy.md says more.
   */
  shutdownGraceMs: z.coerce.number().int().min(0).max(60_000).default(4_000),
});

export const RotationConfigSchema = z.object({
  /** NCRONTAB, six fields (with seconds), as the Functions timer trigger uses. */
  schedule: z
    .string()
    .default('0 0 * * * *')
    .superRefine((schedule, ctx) => {
      const problem = ncrontabProblem(schedule);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    }),
  nearExpiryWindowDays: z.coerce.number().min(0).default(30),
  defaultValidityDays: z.coerce.number().positive().default(60),
  /**
   * PostgreSQL servers rotor may change role passwords on, each with the roles it may change
   * and the secrets that may ask for it (lib/rotation/generators/postgres-server.ts).
   * A secret's ProviderAddress selects one by name or host:port; nothing else is contacted.
   */
  postgres: z.array(PostgresServerSchema).default([]),
  /** `rotor-verify: rollout` and a consumer's rollout fails: restore the previous credential (or only alert). */
  undo: boolish.default(true),
});

export const StateConfigSchema = z.object({
  /** Connection string (Azurite locally) or account URL with managed identity. */
  connectionString: secretString().optional(),
  accountUrl: z.string().url().optional(),
  tablePrefix: z
    .string()
    .regex(/^[A-Za-z][A-Za-z0-9]{0,40}$/)
    .default('rotor'),
  /** An event whose processing has not finished after this long may be taken over. */
  inProgressExpiryMs: z.coerce.number().int().positive().default(120_000),
  /** Completed event records are purged by the timer after this long (Event Grid retries for 24 h). */
  retentionHours: z.coerce.number().min(25).default(48),
});

export const WebhookConfigSchema = z.object({
  bearerToken: secretString(z.string().min(16)).optional(),
  hmacSecret: secretString(z.string().min(16)).optional(),
  hmacHeader: z.string().default('x-rotor-signature'),
  maxBodyBytes: z.coerce.number().int().positive().default(1_048_576),
  /** A delivery still running after this long is answered 503 (Event Grid waits 30 s at most). */
  deliveryBudgetMs: z.coerce.number().int().min(100).max(28_000).default(25_000),
});

export const NotificationSchema = z.object({
  kind: z.enum(['slack', 'teams', 'webhook']),
  /** Slack / Teams / webhook URLs carry their token: a secret. */
  url: secretString(z.string().url()),
  on: z.array(z.enum(['restart', 'failure'])).default(['restart', 'failure']),
});

export const ConfigSchema = z.object({
  keyVaults: z.array(KeyVaultConfigSchema).default([]),
  vaults: z.array(VaultConfigSchema).default([]),
  clusters: z.array(ClusterConfigSchema).default([]),
  restart: RestartConfigSchema.default(RestartConfigSchema.parse({})),
  refresh: RefreshConfigSchema.default(RefreshConfigSchema.parse({})),
  runs: RunsConfigSchema.default(RunsConfigSchema.parse({})),
  rotation: RotationConfigSchema.default(RotationConfigSchema.parse({})),
  state: StateConfigSchema.default(StateConfigSchema.parse({})),
  webhook: WebhookConfigSchema.default(WebhookConfigSchema.parse({})),
  notifications: z.array(NotificationSchema).default([]),
  telemetry: z
    .object({
      appInsightsConnectionString: secretString().optional(),
      logLevel: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
    })
    .default({ logLevel: 'info' }),
  port: z.coerce.number().int().min(0).max(65535).default(7071),
  /** The local host (`npm start`, `rotor serve`); lib/host/guard.ts says what it checks. */
  host: z
    .object({
      /** Address to bind; anything but loopback needs `key`. */
      address: z.string().min(1).default('127.0.0.1'),
      /** Key every route needs (x-functions-key / ?code=); unset: generated into .cache/host-key. */
      key: secretString(z.string().min(16)).optional(),
    })
    .default({ address: '127.0.0.1' }),
});

export type Config = z.output<typeof ConfigSchema>;
export type ConfigInput = z.input<typeof ConfigSchema>;
export type KeyVaultConfig = Config['keyVaults'][number];
export type VaultConfig = Config['vaults'][number];
export type ClusterConfig = Config['clusters'][number];
export type RestartConfig = Config['restart'];

/**
 * Validates a config document built in code (unknown keys, schema); every problem in one
 * ConfigError. loadConfig (lib/config/load.ts) reads the environment and also checks files,
 * contexts and credentials.
 */
export function parseConfig(input: unknown): Config {
  return validateConfig(ConfigSchema, input);
}

/** Environment variable → config path. Values are strings; the schema coerces them. */
export const ENV_KEYS: Record<string, readonly string[]> = {
  ROTOR_RESTART_STRATEGY: ['restart', 'strategy'],
  ROTOR_AUTO_RELOAD_ALL: ['restart', 'autoReloadAll'],
  ROTOR_NAMESPACE_SELECTOR: ['restart', 'namespaceSelector'],
  ROTOR_NAMESPACES_TO_IGNORE: ['restart', 'namespacesToIgnore'],
  ROTOR_RESOURCE_LABEL_SELECTOR: ['restart', 'resourceLabelSelector'],
  ROTOR_IGNORED_WORKLOAD_TYPES: ['restart', 'ignoredWorkloadTypes'],
  ROTOR_COALESCE_WINDOW_MS: ['restart', 'coalesceWindowMs'],
  ROTOR_RELOADER: ['restart', 'reloader'],
  ROTOR_RELOADER_GRACE_MS: ['restart', 'reloaderGraceMs'],
  ROTOR_DRY_RUN: ['restart', 'dryRun'],
  ROTOR_ROLLOUT_WAIT_MS: ['restart', 'rolloutWaitMs'],
  ROTOR_FOLLOW_ROLLOUTS: ['restart', 'followRollouts'],
  ROTOR_ROLLOUT_TIMEOUT_MS: ['restart', 'rolloutTimeoutMs'],
  ROTOR_REFRESH_TIMEOUT_MS: ['refresh', 'timeoutMs'],
  ROTOR_RUN_CONCURRENCY: ['runs', 'concurrency'],
  ROTOR_RUN_QUEUE_LIMIT: ['runs', 'queueLimit'],
  ROTOR_SHUTDOWN_GRACE_MS: ['runs', 'shutdownGraceMs'],
  ROTOR_ROTATION_SCHEDULE: ['rotation', 'schedule'],
  ROTOR_NEAR_EXPIRY_WINDOW_DAYS: ['rotation', 'nearExpiryWindowDays'],
  ROTOR_DEFAULT_VALIDITY_DAYS: ['rotation', 'defaultValidityDays'],
  ROTOR_ROTATION_UNDO: ['rotation', 'undo'],
  ROTOR_STATE_CONNECTION_STRING: ['state', 'connectionString'],
  ROTOR_STATE_ACCOUNT_URL: ['state', 'accountUrl'],
  ROTOR_STATE_TABLE_PREFIX: ['state', 'tablePrefix'],
  ROTOR_STATE_RETENTION_HOURS: ['state', 'retentionHours'],
  ROTOR_WEBHOOK_TOKEN: ['webhook', 'bearerToken'],
  ROTOR_WEBHOOK_HMAC_SECRET: ['webhook', 'hmacSecret'],
  ROTOR_WEBHOOK_MAX_BODY_BYTES: ['webhook', 'maxBodyBytes'],
  APPLICATIONINSIGHTS_CONNECTION_STRING: ['telemetry', 'appInsightsConnectionString'],
  ROTOR_LOG_LEVEL: ['telemetry', 'logLevel'],
  PORT: ['port'],
  ROTOR_HOST_ADDRESS: ['host', 'address'],
  ROTOR_HOST_KEY: ['host', 'key'],
};
