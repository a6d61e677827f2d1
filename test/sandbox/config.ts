import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Config, parseConfig } from '../../lib/config.js';
import type { EnvDescriptor } from '../env/descriptor.js';

/** How the sample objects in the clusters spell the OpenBao address (an in-cluster service). */
export const IN_CLUSTER_VAULT = 'http://openbao.openbao.svc.cluster.local:8200';

export interface SandboxConfigOptions {
  /** Folder for files rotor reads (the emulator CA). */
  dir: string;
  /** Bearer token the OpenBao audit device sends to /api/vault-audit. */
  webhookToken?: string;
  /** Unique table prefix so runs never share idempotency records. */
  tablePrefix?: string;
  coalesceWindowMs?: number;
  /** runs.concurrency (the benches compare settings); rotor's default otherwise. */
  runConcurrency?: number;
  /** KV v2 mount rotor watches (tests use their own mount so they never react to other tests' writes). */
  kvMount?: string;
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
  /** Notification targets (tests capture what rotor sends). */
  notifications?: Array<{ kind: 'slack' | 'teams' | 'webhook'; url: string }>;
}

/** rotor's configuration for the sandbox: every real server of the environment, the rotor identity per cluster. */
export function sandboxConfig(env: EnvDescriptor, opts: SandboxConfigOptions): Config {
  return parseConfig(sandboxConfigDocument(env, opts));
}

/**
 * The same configuration as the document a user would write (`npm run sandbox` saves it as
 * the ROTOR_CONFIG file, so `rotor plan` in another terminal sees what the sandbox host sees).
 */
export function sandboxConfigDocument(
  env: EnvDescriptor,
  opts: SandboxConfigOptions,
): Record<string, unknown> {
  const caFile = join(opts.dir, 'keyvault-ca.pem');
  writeFileSync(caFile, env.lowkey.caPem);
  return {
    keyVaults: [
      { name: env.lowkey.vaultName, url: env.lowkey.vaultUrl, auth: { kind: 'emulator' }, tls: { caFile } },
    ],
    vaults: [
      {
        name: 'openbao',
        address: env.openbao.address,
        mounts: [{ path: opts.kvMount ?? env.openbao.kvMount, version: '2' }],
        auth: { method: 'token', token: env.openbao.rootToken },
        aliases: [IN_CLUSTER_VAULT],
      },
    ],
    clusters: env.clusters.map((c) => ({ name: c.name, kubeconfigYaml: c.rotorKubeconfig })),
    state: {
      connectionString: env.azurite.tableConnectionString,
      tablePrefix: opts.tablePrefix ?? `rotor${randomBytes(4).toString('hex')}`,
    },
    webhook: { bearerToken: opts.webhookToken ?? randomBytes(24).toString('hex') },
    restart: { coalesceWindowMs: opts.coalesceWindowMs ?? 50 },
    ...(opts.runConcurrency === undefined ? {} : { runs: { concurrency: opts.runConcurrency } }),
    refresh: { timeoutMs: 15_000 },
    rotation: {
      postgres: [
        {
          name: 'sandbox',
          host: env.postgres.host,
          port: env.postgres.port,
          database: env.postgres.database,
          user: env.postgres.user,
          password: env.postgres.password,
          // Which roles and secrets may use this server: tags only select among these.
          roles: ['sandbox_*'],
          secrets: [
            { keyVault: env.lowkey.vaultName, names: ['pg-*'] },
            { vault: 'openbao', paths: [`${opts.kvMount ?? env.openbao.kvMount}/pg/*`] },
          ],
          // The sandbox's PostgreSQL has no TLS; a real entry keeps the verify-full default.
          tls: { mode: 'disable' },
        },
      ],
    },
    notifications: opts.notifications ?? [],
    telemetry: { logLevel: opts.logLevel ?? 'warn' },
  };
}
