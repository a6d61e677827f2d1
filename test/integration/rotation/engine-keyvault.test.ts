import { describe, expect, it } from 'vitest';
import { createBackends } from '../../../lib/backends/registry.js';
import type { Clock } from '../../../lib/clock.js';
import { RotationEngine } from '../../../lib/rotation/engine.js';
import type { KeyVaultRef } from '../../../lib/secret-ref.js';
import { TableLeaseStore } from '../../../lib/state/lease.js';
import { Tables } from '../../../lib/state/tables.js';
import { keyVaultClientForTest, testEnv, uniqueName } from '../../env/index.js';
import { testConfig } from '../backends/support.js';

const env = testEnv();
const kv = keyVaultClientForTest(env.lowkey);
const DAY = 86_400_000;
const refOf = (name: string): KeyVaultRef => ({
  backend: 'azure-keyvault',
  vault: env.lowkey.vaultName,
  name,
});

function engine(options: { clock?: Clock; config?: ReturnType<typeof testConfig> } = {}) {
  const config = options.config ?? testConfig(env);
  return new RotationEngine({
    backends: createBackends(config),
    config,
    ...(options.clock ? { clock: options.clock } : {}),
  });
}

async function versionsOf(name: string): Promise<string[]> {
  const versions: string[] = [];
  for await (const p of kv.listPropertiesOfSecretVersions(name)) if (p.version) versions.push(p.version);
  return versions;
}

async function seed(
  name: string,
  tags: Record<string, string>,
  extra: { expiresOn?: Date; contentType?: string } = {},
) {
  const secret = await kv.setSecret(name, 'initial-value', { tags, ...extra });
  return secret.properties.version as string;
}

describe('RotationEngine with Key Vault', () => {
  it('writes a new version on request with the tags kept, content type, notBefore and expiresOn = now + validity', async () => {
    const name = uniqueName('rot-kv');
    const tags = {
      'rotor-generator': 'password',
      'rotor-generator-options': '{"length":40,"classes":["lower","upper","digit"]}',
      ValidityPeriodDays: '30',
      owner: 'team-a',
    };
    const before = await seed(name, tags, { contentType: 'text/x-password' });
    const start = Date.now();

    const result = await engine().rotate(refOf(name), { reason: 'manual' });

    expect(result).toMatchObject({ status: 'rotated', previousVersion: before });
    const current = await kv.getSecret(name);
    expect(result.status === 'rotated' && result.newVersion).toBe(current.properties.version);
    expect(current.value).toMatch(/^[a-zA-Z0-9]{40}$/);
    expect(current.properties.contentType).toBe('text/x-password');
    expect(current.properties.tags).toMatchObject(tags);
    expect(Date.parse(current.properties.tags?.['rotor-rotated-at'] ?? '')).toBeGreaterThanOrEqual(
      start - 1000,
    );
    expect(current.properties.notBefore?.getTime()).toBeLessThanOrEqual(Date.now());
    const expires = current.properties.expiresOn?.getTime() ?? 0;
    expect(expires).toBeGreaterThanOrEqual(start + 30 * DAY - 2000);
    expect(expires).toBeLessThanOrEqual(Date.now() + 30 * DAY + 2000);
  });

  it('never rotates a secret without a policy', async () => {
    const name = uniqueName('rot-none');
    await seed(name, { owner: 'team-a' });

    const result = await engine().rotate(refOf(name), { reason: 'manual' });

    expect(result).toMatchObject({ status: 'skipped', reason: 'no-policy' });
    expect(await versionsOf(name)).toHaveLength(1);
  });

  it('rotates on a near-expiry event for the current version when it is due', async () => {
    const name = uniqueName('rot-due');
    const version = await seed(
      name,
      { 'rotor-generator': 'bytes' },
      { expiresOn: new Date(Date.now() + 5 * DAY) },
    );

    const result = await engine().rotate(refOf(name), { reason: 'near-expiry', expectedVersion: version });

    expect(result.status).toBe('rotated');
    expect(await versionsOf(name)).toHaveLength(2);
  });

  it('ignores a near-expiry event for an older version once a newer one exists', async () => {
    const name = uniqueName('rot-stale');
    const old = await seed(
      name,
      { 'rotor-generator': 'bytes' },
      { expiresOn: new Date(Date.now() + 5 * DAY) },
    );
    await seed(name, { 'rotor-generator': 'bytes' }, { expiresOn: new Date(Date.now() + 5 * DAY) });

    const result = await engine().rotate(refOf(name), { reason: 'near-expiry', expectedVersion: old });

    expect(result).toMatchObject({ status: 'skipped', reason: 'superseded' });
    expect(await versionsOf(name)).toHaveLength(2);
  });

  it('does not rotate the version it has just written again (no loop), and changes never rotate', async () => {
    const name = uniqueName('rot-loop');
    const version = await seed(
      name,
      { 'rotor-generator': 'bytes', ValidityPeriodDays: '7' },
      { expiresOn: new Date() },
    );
    const e = engine();
    const first = await e.rotate(refOf(name), { reason: 'expired', expectedVersion: version });
    const written = first.status === 'rotated' ? first.newVersion : '';

    const nearExpiry = await e.rotate(refOf(name), { reason: 'near-expiry', expectedVersion: written });
    const changed = await e.rotate(refOf(name), { reason: 'changed', expectedVersion: written });

    expect(first.status).toBe('rotated');
    expect(nearExpiry).toMatchObject({ status: 'skipped', reason: 'not-due' });
    expect(changed).toMatchObject({ status: 'skipped', reason: 'not-a-rotation-trigger' });
    expect(await versionsOf(name)).toHaveLength(2);
  });

  it('scans the vault page by page and returns exactly the secrets whose policy says they are due', async () => {
    const due = uniqueName('scan-due');
    const fresh = uniqueName('scan-fresh');
    const noPolicy = uniqueName('scan-none');
    const invalid = uniqueName('scan-invalid');
    await seed(due, { 'rotor-generator': 'password' }, { expiresOn: new Date(Date.now() + 2 * DAY) });
    await seed(fresh, { 'rotor-generator': 'password' }, { expiresOn: new Date(Date.now() + 50 * DAY) });
    await seed(noPolicy, {}, { expiresOn: new Date(Date.now() + 2 * DAY) });
    await seed(
      invalid,
      { 'rotor-generator': 'password', 'rotor-schedule': 'often' },
      { expiresOn: new Date() },
    );
    const warnings: string[] = [];
    const config = testConfig(env);
    const e = new RotationEngine({
      backends: createBackends(config),
      config,
      onWarning: (_m, attrs) => warnings.push(attrs.ref ?? ''),
    });

    const found = await e.scanDue({ pageSize: 3 });

    const mine = found.filter(
      (d) => d.ref.backend === 'azure-keyvault' && [due, fresh, noPolicy, invalid].includes(d.ref.name),
    );
    expect(mine).toEqual([{ ref: refOf(due), reason: 'near-expiry' }]);
    expect(warnings).toContain(`azure-keyvault:${env.lowkey.vaultName}/${invalid}`);
  });

  it('lets exactly one of two instances rotate the same secret at once (lease in Table Storage)', async () => {
    const name = uniqueName('rot-race');
    const version = await seed(name, { 'rotor-generator': 'password' });
    const config = testConfig(env);
    const instance = () =>
      new RotationEngine({
        backends: createBackends(config),
        config,
        leases: new TableLeaseStore(new Tables(config.state)),
      });
    const [a, b] = [instance(), instance()];

    const results = await Promise.all([
      a.rotate(refOf(name), { reason: 'manual', expectedVersion: version }),
      b.rotate(refOf(name), { reason: 'manual', expectedVersion: version }),
    ]);

    expect(results.map((r) => r.status).sort()).toEqual(['rotated', 'skipped']);
    expect(await versionsOf(name)).toHaveLength(2);
  });

  it('rotates by the injected clock: a secret is due once the clock passes into its window', async () => {
    const name = uniqueName('rot-clock');
    await seed(
      name,
      { 'rotor-generator': 'bytes', ValidityPeriodDays: '60' },
      { expiresOn: new Date(Date.now() + 60 * DAY) },
    );
    const later: Clock = { now: () => new Date(Date.now() + 45 * DAY) };

    const now = await engine().rotate(refOf(name), { reason: 'rotate-due' });
    const inFortyFiveDays = await engine({ clock: later }).rotate(refOf(name), { reason: 'rotate-due' });

    expect(now).toMatchObject({ status: 'skipped', reason: 'not-due' });
    expect(inFortyFiveDays.status).toBe('rotated');
  });
});
