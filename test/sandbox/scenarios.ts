import { randomUUID } from 'node:crypto';
import type { SecretClient } from '@azure/keyvault-secrets';
import type { Outcome } from '../../lib/outcome.js';
import { refKey } from '../../lib/secret-ref.js';
import type { EnvDescriptor } from '../env/descriptor.js';
import { keyVaultClientForTest } from '../env/keyvault-client.js';
import type { SampleApp } from './sample-app.js';
import type { Sandbox } from './sandbox.js';

/**
 * The demo's three scenarios, also run by the end-to-end tests and the latency benchmark.
 * Each changes a secret the way production would and returns rotor's outcome for it.
 */
export interface ScenarioRun {
  name: string;
  trigger: string;
  outcome: Outcome;
  /** Wall time from the change in the backend to the outcome (includes delivery). */
  wallMs: number;
  /** The outcome once every rollout ended (each restarted workload's `rollout` is final). */
  final: Outcome;
  /** Wall time from the change to the end of the last rollout: every new pod Ready. */
  rolledOutMs: number;
}

/** Waits for the run's rollouts to end and completes the scenario's record. */
async function finished(
  sandbox: Sandbox,
  run: Omit<ScenarioRun, 'final' | 'rolledOutMs'>,
  t0: number,
): Promise<ScenarioRun> {
  const final = await sandbox.rolledOut(run.outcome);
  return { ...run, final, rolledOutMs: performance.now() - t0 };
}

/** Key Vault `SecretNewVersionCreated`, delivered as Event Grid delivers it (Event Grid schema). */
export function keyVaultEvent(
  vaultName: string,
  secret: string,
  version: string,
  eventType = 'Microsoft.KeyVault.SecretNewVersionCreated',
) {
  const id = randomUUID();
  return {
    id,
    topic: `/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/sandbox/providers/Microsoft.KeyVault/vaults/${vaultName}`,
    subject: secret,
    eventType,
    eventTime: new Date().toISOString(),
    data: {
      Id: `https://${vaultName}.vault.azure.net/secrets/${secret}/${version}`,
      VaultName: vaultName,
      ObjectType: 'Secret',
      ObjectName: secret,
      Version: version,
      NBF: null,
      EXP: null,
    },
    dataVersion: '1',
    metadataVersion: '1',
  };
}

/** Writes a new version of a Key Vault secret; returns the Event Grid event announcing it (not delivered). */
export async function newKeyVaultVersion(
  sandbox: { env: Pick<EnvDescriptor, 'lowkey'> },
  kv: SecretClient,
  secret: string,
  value: string,
) {
  const written = await kv.setSecret(secret, value);
  return keyVaultEvent(sandbox.env.lowkey.vaultName, secret, written.properties.version ?? '');
}

/** One delivery attempt to the Event Grid webhook, as Event Grid sends it (no retry). */
export function sendEventGrid(
  sandbox: { host: Pick<Sandbox['host'], 'url' | 'key'> },
  events: unknown[],
  signal?: AbortSignal,
): Promise<Response> {
  return fetch(`${sandbox.host.url}/runtime/webhooks/eventgrid?functionName=keyVaultEvents`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'aeg-event-type': 'Notification',
      'x-functions-key': sandbox.host.key,
    },
    body: JSON.stringify(events),
    ...(signal ? { signal } : {}),
  });
}

/**
 * POSTs to the Event Grid webhook the way Event Grid delivers: a 503 (a transient fault such
 * as the state store still starting) is delivered again after the Retry-After the host
 * sent (capped for the demo; Event Grid itself waits 10 s, 30 s, 1 min, ...). Any other
 * failure, or 503s past the last attempt, throws with the host's reason.
 */
export async function postEventGrid(
  sandbox: { host: Pick<Sandbox['host'], 'url' | 'key'> },
  events: unknown[],
  options: { attempts?: number; onRetry?: (reason: string, waitMs: number) => void } = {},
): Promise<Response> {
  const attempts = options.attempts ?? 6;
  for (let attempt = 1; ; attempt++) {
    const res = await sendEventGrid(sandbox, events);
    if (res.ok) return res;
    const body = await res.text();
    const reason = describeRejection(body);
    if (res.status !== 503 || attempt >= attempts) {
      throw new Error(`event grid webhook answered ${res.status} after ${attempt} attempt(s): ${reason}`);
    }
    const waitMs = Math.min(5_000, 1_000 * (Number(res.headers.get('retry-after')) || 1));
    options.onRetry?.(`${res.status}: ${reason}`, waitMs);
    await new Promise((resolve) => setTimeout(resolve, waitMs));
  }
}

function describeRejection(body: string): string {
  try {
    const parsed = JSON.parse(body) as { message?: unknown };
    if (typeof parsed.message === 'string') return parsed.message;
  } catch {
    // not JSON: the text itself
  }
  return body.slice(0, 300);
}

/** 1. A new Key Vault version, announced by Event Grid. */
export async function keyVaultUpdate(
  sandbox: Sandbox,
  app: SampleApp,
  newValue: string,
): Promise<ScenarioRun> {
  const t0 = performance.now();
  const kv = keyVaultClientForTest(sandbox.env.lowkey);
  const event = await newKeyVaultVersion(sandbox, kv, app.kvSecret, newValue);
  await postEventGrid(sandbox, [event]);
  const outcome = await sandbox.waitForOutcome((o) => o.eventId === event.id);
  const run = { name: 'Key Vault update', trigger: 'Event Grid', outcome, wallMs: performance.now() - t0 };
  return finished(sandbox, run, t0);
}

/** 2. An OpenBao KV v2 write, seen by rotor through OpenBao's http audit device. */
export async function openBaoWrite(sandbox: Sandbox, app: SampleApp, newValue: string): Promise<ScenarioRun> {
  const { env } = sandbox;
  const ref = refKey({
    backend: 'vault',
    address: env.openbao.address,
    namespace: '',
    mount: app.vaultMount,
    path: app.vaultPath,
  });
  const from = sandbox.outcomes.length;
  const t0 = performance.now();
  await writeOpenBao(env, app.vaultMount, app.vaultPath, { API_KEY: newValue });
  const outcome = await sandbox.waitForOutcome((o) => o.ref === ref && o.source === 'vault-audit', { from });
  const run = { name: 'OpenBao write', trigger: 'audit device', outcome, wallMs: performance.now() - t0 };
  return finished(sandbox, run, t0);
}

/**
 * 3. Policy-driven rotation: the Key Vault secret carries a rotation policy (tags) and
 * Event Grid reports it near expiry; rotor writes a new version, refreshes and restarts.
 */
export async function policyRotation(sandbox: Sandbox, app: SampleApp): Promise<ScenarioRun> {
  const kv = keyVaultClientForTest(sandbox.env.lowkey);
  const current = await kv.getSecret(app.kvSecret);
  const t0 = performance.now();
  const event = keyVaultEvent(
    sandbox.env.lowkey.vaultName,
    app.kvSecret,
    current.properties.version ?? '',
    'Microsoft.KeyVault.SecretNearExpiry',
  );
  await postEventGrid(sandbox, [event]);
  const outcome = await sandbox.waitForOutcome((o) => o.eventId === event.id);
  const run = {
    name: 'Policy rotation',
    trigger: 'SecretNearExpiry',
    outcome,
    wallMs: performance.now() - t0,
  };
  return finished(sandbox, run, t0);
}

/** A KV v2 write, as any Vault client makes it (the audit device sees it like any other). */
export async function writeOpenBao(
  env: EnvDescriptor,
  mount: string,
  path: string,
  data: Record<string, string>,
): Promise<void> {
  const res = await fetch(`${env.openbao.address}/v1/${mount}/data/${path}`, {
    method: 'POST',
    headers: { 'X-Vault-Token': env.openbao.rootToken, 'content-type': 'application/json' },
    body: JSON.stringify({ data }),
  });
  if (!res.ok) throw new Error(`OpenBao write to ${mount}/${path} answered ${res.status}`);
}

/** Enables a KV v2 mount of the test's own (so no other test's host reacts to its writes). */
export async function enableKvMount(sandbox: Pick<Sandbox, 'env'>, mount: string): Promise<void> {
  const { env } = sandbox;
  const res = await fetch(`${env.openbao.address}/v1/sys/mounts/${mount}`, {
    method: 'POST',
    headers: { 'X-Vault-Token': env.openbao.rootToken, 'content-type': 'application/json' },
    body: JSON.stringify({ type: 'kv', options: { version: '2' } }),
  });
  if (!res.ok) throw new Error(`enabling KV mount ${mount} answered ${res.status}`);
}

/** Puts a rotation policy on the Key Vault secret: rotor's password generator, 30-day validity, expiring soon. */
export async function addRotationPolicy(sandbox: Sandbox, app: SampleApp, value: string): Promise<void> {
  const kv = keyVaultClientForTest(sandbox.env.lowkey);
  await kv.setSecret(app.kvSecret, value, {
    tags: { 'rotor-generator': 'password', ValidityPeriodDays: '30' },
    expiresOn: new Date(Date.now() + 5 * 86_400_000),
  });
}
