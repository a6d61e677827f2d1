import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createApp } from '../../lib/app.js';
import { runCli } from '../../lib/cli.js';
import { type ConfigInput, parseConfig } from '../../lib/config.js';
import { describeError } from '../../lib/errors.js';
import { startHost } from '../../lib/host/server.js';
import { authenticateWebhook } from '../../lib/intake/webhook-auth.js';
import { createLogger, createTelemetry } from '../../lib/telemetry.js';
import { testEnv } from '../env/index.js';

/**
 * Issue #12.4: every secret-bearing configuration field gets a distinct value; no output
 * path (config check human and JSON, logs, errors, outcomes, health, notifications, the
 * host) may print any of them, nor their base64 forms.
 */
const env = testEnv();
const secret = (label: string) => `${label}-${randomBytes(12).toString('hex')}`;
const S = {
  vaultToken: secret('vault-token'),
  approleSecretId: secret('approle-secret-id'),
  postgresPassword: secret('pg-admin-password'),
  webhookToken: secret('webhook-bearer'),
  hmacSecret: secret('webhook-hmac'),
  notificationToken: secret('hook-token'),
  kubeToken: secret('kube-token'),
  storageKey: Buffer.from(secret('storage-key')).toString('base64'),
  appInsightsKey: randomUUID(),
  hostKey: secret('host-key'),
};

let hook: Server;
/** Bodies the notification endpoint received (its own URL naturally holds its token). */
const received: string[] = [];
const hookPaths: string[] = [];
beforeAll(async () => {
  hook = createServer((req, res) => {
    hookPaths.push(req.url ?? '');
    let body = '';
    req.on('data', (c: Buffer) => {
      body += c.toString();
    });
    req.on('end', () => {
      received.push(body);
      res.statusCode = 500;
      res.end();
    });
  });
  await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve));
});
afterAll(() => new Promise<void>((resolve) => hook.close(() => resolve())));

function document(): ConfigInput {
  const hookPort = (hook.address() as AddressInfo).port;
  const kubeconfigYaml = [
    'apiVersion: v1',
    'kind: Config',
    'clusters: [{name: c, cluster: {server: "https://127.0.0.1:1", insecure-skip-tls-verify: true}}]',
    `users: [{name: u, user: {token: "${S.kubeToken}"}}]`,
    'contexts: [{name: x, context: {cluster: c, user: u}}]',
    'current-context: x',
  ].join('\n');
  return {
    vaults: [
      {
        name: 'by-token',
        address: env.openbao.address,
        mounts: [{ path: env.openbao.kvMount }],
        auth: { method: 'token', token: S.vaultToken },
      },
      {
        name: 'by-approle',
        address: 'http://127.0.0.1:1',
        mounts: [{ path: 'secret' }],
        auth: { method: 'approle', roleId: 'role-id', secretId: S.approleSecretId },
      },
    ],
    clusters: [{ name: 'inline', kubeconfigYaml }],
    rotation: {
      postgres: [
        {
          name: 'db',
          host: env.postgres.host,
          port: env.postgres.port,
          user: env.postgres.user,
          password: S.postgresPassword,
          roles: ['app'],
          secrets: [{ vault: 'by-token', paths: ['secret/*'] }],
          tls: { mode: 'disable' },
        },
      ],
    },
    webhook: { bearerToken: S.webhookToken, hmacSecret: S.hmacSecret },
    notifications: [
      { kind: 'webhook', url: `http://127.0.0.1:${hookPort}/hook/${S.notificationToken}`, on: ['failure'] },
    ],
    state: {
      connectionString: `DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=${S.storageKey};TableEndpoint=http://127.0.0.1:1/devstoreaccount1;`,
    },
    telemetry: {
      appInsightsConnectionString: `InstrumentationKey=${S.appInsightsKey};IngestionEndpoint=http://127.0.0.1:1/`,
    },
    host: { key: S.hostKey },
    refresh: { timeoutMs: 1_000 },
  };
}

/** Each secret as written, and in the base64 spellings a careless encoder would produce. */
function forms(value: string): string[] {
  const b = Buffer.from(value);
  return [value, b.toString('base64'), b.toString('base64url'), b.toString('base64').replace(/=+$/, '')];
}

function leaks(output: string): string[] {
  return Object.entries(S).flatMap(([field, value]) =>
    forms(value)
      .filter((f) => output.includes(f))
      .map(() => field),
  );
}

describe('secret-bearing configuration values never reach an output', () => {
  it('config check (human and --json), JSON.stringify, String() and util.inspect print *** for every one', async () => {
    vi.stubEnv('ROTOR_CONFIG_JSON', JSON.stringify(document()));
    const out: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.map(String).join(' ')));
    vi.spyOn(console, 'error').mockImplementation(
      (...a: unknown[]) => void out.push(a.map(String).join(' ')),
    );
    try {
      expect(await runCli(['config', 'check'])).toBe(0);
      expect(await runCli(['config', 'check', '--json'])).toBe(0);
    } finally {
      vi.restoreAllMocks();
      vi.unstubAllEnvs();
    }
    const config = parseConfig(document());
    const printed = [
      ...out,
      JSON.stringify(config),
      inspect(config, { depth: 20 }),
      `${config.webhook.bearerToken}`,
    ];

    expect(leaks(printed.join('\n'))).toEqual([]);
    expect(printed.join('\n')).toContain('***');
  });

  it('a configuration error next to secrets names the field, not the values', () => {
    const bad = { ...document(), restart: { strategy: 'sideways' } };

    const message = (() => {
      try {
        parseConfig(bad);
        return '';
      } catch (error) {
        return `${describeError(error).message}\n${JSON.stringify(error)}`;
      }
    })();

    expect(message).toContain('restart.strategy');
    expect(leaks(message)).toEqual([]);
  });

  it('logs, health, outcomes, errors, notifications and the host say nothing of them while everything fails', async () => {
    const lines: string[] = [];
    const write = (l: string) => lines.push(l);
    const printed: string[] = [];
    const record = async (what: () => Promise<unknown>) => {
      try {
        printed.push(JSON.stringify(await what()));
      } catch (error) {
        printed.push(describeError(error).message, inspect(error, { depth: 10 }));
      }
    };
    const appWith = (input: ConfigInput) => {
      const config = parseConfig(input);
      return createApp(config, { telemetry: createTelemetry(config.telemetry, { write, inMemory: true }) });
    };
    const vaultRef = (address: string, path: string) =>
      ({ backend: 'vault', address, namespace: '', mount: env.openbao.kvMount, path }) as const;
    // Every store unreachable or refusing: health and errors.
    const failing = await appWith(document());
    try {
      await record(() => failing.health());
      await record(() => failing.rotate(vaultRef('http://127.0.0.1:1', 'y')));
      await record(async () =>
        authenticateWebhook(() => 'Bearer wrong', Buffer.from('{}'), failing.config.webhook),
      );
      const host = await startHost({
        app: failing,
        log: createLogger('debug', write),
        port: 0,
        timers: false,
      });
      await record(async () => (await fetch(`${host.url}/api/health?code=${S.hostKey}`)).text());
      await host.close();
    } finally {
      await failing.close();
    }
    // A working state store, so a run completes as failed: its outcome and the failure notification.
    const running = await appWith({
      ...document(),
      state: { connectionString: env.azurite.tableConnectionString },
    });
    try {
      await record(() => running.refresh(vaultRef(env.openbao.address, 'x')));
    } finally {
      await running.close();
    }
    const everything = [...printed, ...lines, ...received].join('\n');

    expect(leaks(everything)).toEqual([]);
    expect(printed.length).toBeGreaterThanOrEqual(5);
    // The failure notification was sent (and refused by the endpoint, so its failure was logged too).
    expect(hookPaths).toEqual([`/hook/${S.notificationToken}`]);
    expect(received.join('\n')).toContain('failed');
  });
});
