import { describe, expect, it } from 'vitest';
import type { Backend } from '../../../lib/backends/backend.js';
import { BACKEND_FACTORIES, type BackendFactory, createBackends } from '../../../lib/backends/registry.js';
import type { Clock } from '../../../lib/clock.js';
import { RotationEngine } from '../../../lib/rotation/engine.js';
import type { VaultRef } from '../../../lib/secret-ref.js';
import { MemoryLeaseStore, TableLeaseStore } from '../../../lib/state/lease.js';
import { Tables } from '../../../lib/state/tables.js';
import { testEnv, uniqueName, vaultClient } from '../../env/index.js';
import { testConfig } from '../backends/support.js';

const env = testEnv();
const root = vaultClient(env);
const mount = env.openbao.kvMount;
const DAY = 86_400_000;
const refOf = (path: string): VaultRef => ({
  backend: 'vault',
  address: env.openbao.address,
  namespace: '',
  mount,
  path,
});

async function seed(path: string, data: Record<string, string>, custom: Record<string, string>) {
  await root.write(`${mount}/data/${path}`, { data });
  await root.write(`${mount}/metadata/${path}`, { custom_metadata: custom });
}

async function currentVersion(path: string): Promise<number> {
  return (await root.read(`${mount}/metadata/${path}`)).data.current_version as number;
}

describe('RotationEngine with OpenBao KV v2', () => {
  it('writes a new version with cas, keeps the other fields and records the rotation in custom_metadata', async () => {
    const path = `rotor/${uniqueName('rot-bao')}`;
    await seed(
      path,
      { token: 'old', host: 'api.internal' },
      {
        'rotor-generator': 'bytes',
        'rotor-generator-options': '{"length":24,"encoding":"hex","field":"token"}',
        owner: 'team-a',
      },
    );
    const config = testConfig(env);

    const result = await new RotationEngine({ backends: createBackends(config), config }).rotate(
      refOf(path),
      {
        reason: 'manual',
      },
    );

    expect(result).toMatchObject({ status: 'rotated', newVersion: '2', previousVersion: '1' });
    const data = (await root.read(`${mount}/data/${path}`)).data;
    expect(data.data.host).toBe('api.internal');
    expect(data.data.token).toMatch(/^[0-9a-f]{48}$/);
    const meta = (await root.read(`${mount}/metadata/${path}`)).data.custom_metadata;
    expect(meta).toMatchObject({ owner: 'team-a', 'rotor-generator': 'bytes' });
    expect(Date.now() - Date.parse(meta['rotor-rotated-at'])).toBeLessThan(60_000);
  });

  it('lets exactly one of two instances rotate at once through check-and-set alone (no shared lease)', async () => {
    const path = `rotor/${uniqueName('rot-cas')}`;
    await seed(path, { password: 'old' }, { 'rotor-generator': 'password' });
    const config = testConfig(env);
    const instance = () =>
      new RotationEngine({ backends: createBackends(config), config, leases: new MemoryLeaseStore() });

    const results = await Promise.all([
      instance().rotate(refOf(path), { reason: 'manual', expectedVersion: '1' }),
      instance().rotate(refOf(path), { reason: 'manual', expectedVersion: '1' }),
    ]);

    expect(results.map((r) => r.status).sort()).toEqual(['rotated', 'skipped']);
    expect(results.find((r) => r.status === 'skipped')).toMatchObject({ reason: 'rotated-concurrently' });
    expect(await currentVersion(path)).toBe(2);
  });

  it('lets exactly one of two instances rotate at once with the Table Storage lease', async () => {
    const path = `rotor/${uniqueName('rot-lease')}`;
    await seed(path, { password: 'old' }, { 'rotor-generator': 'password' });
    const config = testConfig(env);
    const instance = () =>
      new RotationEngine({
        backends: createBackends(config),
        config,
        leases: new TableLeaseStore(new Tables(config.state)),
      });

    const results = await Promise.all([
      instance().rotate(refOf(path), { reason: 'manual' }),
      instance().rotate(refOf(path), { reason: 'manual' }),
    ]);

    expect(results.map((r) => r.status).sort()).toEqual(['rotated', 'skipped']);
    expect(await currentVersion(path)).toBe(2);
  });

  it("on a conflict re-reads and keeps the other writer's version instead of overwriting it", async () => {
    const path = `rotor/${uniqueName('rot-conflict')}`;
    await seed(path, { password: 'old' }, { 'rotor-generator': 'password' });
    const config = testConfig(env);
    // An operator writes by hand between rotor's read and rotor's write.
    const interleaved: BackendFactory = {
      kind: 'vault',
      create: (c, deps) =>
        (BACKEND_FACTORIES.find((f) => f.kind === 'vault') as BackendFactory).create(c, deps).map(
          (b): Backend =>
            Object.assign(Object.create(b) as Backend, {
              write: async (...args: Parameters<Backend['write']>) => {
                await root.write(`${mount}/data/${path}`, { data: { password: 'set-by-hand' } });
                return b.write(...args);
              },
            }),
        ),
    };
    const backends = createBackends(config, { factories: [interleaved] });

    const result = await new RotationEngine({ backends, config }).rotate(refOf(path), { reason: 'manual' });

    expect(result).toMatchObject({ status: 'skipped', reason: 'rotated-concurrently', currentVersion: '2' });
    expect((await root.read(`${mount}/data/${path}`)).data.data).toEqual({ password: 'set-by-hand' });
  });

  it('scans every configured mount (paged) and finds secrets due by creation + validity or by period', async () => {
    const folder = `rotor/${uniqueName('scan')}`;
    await seed(`${folder}/validity`, { v: '1' }, { 'rotor-generator': 'bytes', ValidityPeriodDays: '40' });
    await seed(`${folder}/period`, { v: '1' }, { 'rotor-generator': 'bytes', 'rotor-period-days': '5' });
    await seed(`${folder}/fresh`, { v: '1' }, { 'rotor-generator': 'bytes' });
    await seed(`${folder}/none`, { v: '1' }, { owner: 'x' });
    const config = testConfig(env, { keyVaults: [] });
    const inSixDays: Clock = { now: () => new Date(Date.now() + 6 * DAY) };
    const inTwentyFiveDays: Clock = { now: () => new Date(Date.now() + 25 * DAY) };
    const scan = async (clock: Clock) =>
      (await new RotationEngine({ backends: createBackends(config), config, clock }).scanDue({ pageSize: 2 }))
        .filter((d) => d.ref.backend === 'vault' && d.ref.path.startsWith(folder))
        .map((d) => [
          d.ref.backend === 'vault' ? d.ref.path.slice(folder.length + 1) : '',
          d.reason,
          d.version,
        ]);

    expect(await scan(inSixDays)).toEqual([['period', 'period', '1']]);
    expect((await scan(inTwentyFiveDays)).sort()).toEqual([
      ['period', 'period', '1'],
      ['validity', 'near-expiry', '1'],
    ]);
  });
});
