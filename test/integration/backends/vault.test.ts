import { describe, expect, it } from 'vitest';
import { createBackends } from '../../../lib/backends/registry.js';
import { parseConfig } from '../../../lib/config.js';
import { ConflictError, NotFoundError } from '../../../lib/errors.js';
import type { VaultRef } from '../../../lib/secret-ref.js';
import { testEnv, uniqueName, vaultClient } from '../../env/index.js';
import { vaultEntry } from './support.js';

const env = testEnv();
const root = vaultClient(env);
const mount = env.openbao.kvMount;
const refOf = (path: string, over: Partial<VaultRef> = {}): VaultRef => ({
  backend: 'vault',
  address: env.openbao.address,
  namespace: '',
  mount,
  path,
  ...over,
});
const registry = (extra: Parameters<typeof vaultEntry>[1] = {}) =>
  createBackends(parseConfig({ vaults: [vaultEntry(env, extra)] }));

describe('Vault backend against OpenBao', () => {
  it('writes KV v2 versions and reads fields, version, creation time and custom_metadata', async () => {
    const ref = refOf(`rotor/${uniqueName('kv2')}`);
    const backend = registry().get(ref);

    await backend.write(ref, { value: { username: 'app', password: 'one' } });
    const second = await backend.write(ref, {
      value: { username: 'app', password: 'two' },
      expectedVersion: '1',
      metadata: { 'rotor-generator': 'password' },
    });
    const read = await backend.read(ref);

    expect(second.version).toBe('2');
    expect(read).toMatchObject({
      version: '2',
      enabled: true,
      value: { username: 'app', password: 'two' },
      metadata: { 'rotor-generator': 'password' },
    });
    expect(Date.now() - (read.createdOn?.getTime() ?? 0)).toBeLessThan(60_000);
  });

  it('reads an earlier KV v2 version by its number (what an undo restores)', async () => {
    const ref = refOf(`rotor/${uniqueName('kv2-version')}`);
    const backend = registry().get(ref);
    await backend.write(ref, { value: { password: 'one' } });
    await backend.write(ref, { value: { password: 'two' }, expectedVersion: '1' });

    const earlier = await backend.read(ref, '1');

    expect(earlier).toMatchObject({ version: '1', enabled: true, value: { password: 'one' } });
    expect((await backend.read(ref)).value).toEqual({ password: 'two' });
  });

  it("merges rotor keys into custom_metadata without dropping the owner's keys", async () => {
    const ref = refOf(`rotor/${uniqueName('meta')}`);
    const backend = registry().get(ref);
    await root.write(`${mount}/data/${ref.path}`, { data: { v: '1' } });
    await root.write(`${mount}/metadata/${ref.path}`, {
      custom_metadata: { owner: 'team-a', 'rotor-generator': 'bytes' },
    });

    await backend.write(ref, {
      value: { v: '2' },
      expectedVersion: '1',
      metadata: { 'rotor-rotated-at': 'now' },
    });

    expect((await backend.readMetadata(ref)).metadata).toEqual({
      owner: 'team-a',
      'rotor-generator': 'bytes',
      'rotor-rotated-at': 'now',
    });
  });

  it('maps a check-and-set mismatch (400 from the server) to ConflictError and keeps the newer version', async () => {
    const ref = refOf(`rotor/${uniqueName('cas')}`);
    const backend = registry().get(ref);
    await backend.write(ref, { value: { v: '1' } });
    await backend.write(ref, { value: { v: '2' }, expectedVersion: '1' });

    const stale = backend.write(ref, { value: { v: 'lost' }, expectedVersion: '1' });

    await expect(stale).rejects.toBeInstanceOf(ConflictError);
    expect((await backend.read(ref)).value).toEqual({ v: '2' });
  });

  it('maps a missing secret and an unconfigured mount to NotFoundError', async () => {
    const backend = registry().get(refOf('x'));

    await expect(backend.read(refOf(`rotor/${uniqueName('missing')}`))).rejects.toBeInstanceOf(NotFoundError);
    await expect(backend.read(refOf('x', { mount: 'not-configured' }))).rejects.toBeInstanceOf(NotFoundError);
  });

  it('lists every secret of the mount, through folders, in pages of the requested size (OpenBao pagination)', async () => {
    const folder = `rotor/${uniqueName('list')}`;
    const paths = [`${folder}/a`, `${folder}/b`, `${folder}/c`, `${folder}/sub/d`, `${folder}/sub/deeper/e`];
    for (const p of paths) {
      await root.write(`${mount}/data/${p}`, { data: { v: '1' } });
      await root.write(`${mount}/metadata/${p}`, { custom_metadata: { 'rotor-generator': 'bytes' } });
    }
    const backend = registry().get(refOf('x'));

    const pageSizes: number[] = [];
    const found = new Map<string, string | undefined>();
    for await (const page of backend.list({ pageSize: 2 })) {
      pageSizes.push(page.length);
      for (const s of page)
        if (s.ref.backend === 'vault') found.set(s.ref.path, s.metadata['rotor-generator']);
    }

    expect(Math.max(...pageSizes)).toBeLessThanOrEqual(2);
    for (const p of paths) expect(found.get(p)).toBe('bytes');
  });

  it('reads, writes and lists a KV v1 mount (no versions, no metadata)', async () => {
    const v1 = uniqueName('kv1');
    await root.mount({ mount_point: v1, type: 'kv', options: { version: '1' } });
    const ref = refOf('app/config', { mount: v1 });
    const backend = createBackends(
      parseConfig({ vaults: [vaultEntry(env, { mounts: [{ path: v1, version: '1' }] })] }),
    ).get(ref);

    await backend.write(ref, { value: { password: 'p1' } });
    const read = await backend.read(ref);
    const listed: string[] = [];
    for await (const page of backend.list())
      for (const s of page) if (s.ref.backend === 'vault') listed.push(s.ref.path);

    expect(read).toMatchObject({ value: { password: 'p1' }, metadata: {}, enabled: true });
    expect(read.version).toBeUndefined();
    expect(listed).toEqual(['app/config']);
  });

  it('logs in with AppRole and logs in again once its token has expired', async () => {
    const approle = uniqueName('approle');
    const policy = uniqueName('policy');
    await root.enableAuth({ mount_point: approle, type: 'approle' });
    await root.addPolicy({
      name: policy,
      rules: `path "${mount}/*" { capabilities = ["create","read","update","list"] }`,
    });
    await root.write(`auth/${approle}/role/rotor`, {
      token_policies: [policy],
      token_ttl: '2s',
      token_max_ttl: '2s',
    });
    const roleId = (await root.read(`auth/${approle}/role/rotor/role-id`)).data.role_id as string;
    const secretId = (await root.write(`auth/${approle}/role/rotor/secret-id`, {})).data.secret_id as string;
    const ref = refOf(`rotor/${uniqueName('approle')}`);
    await root.write(`${mount}/data/${ref.path}`, { data: { v: 'by-root' } });
    const backend = registry({ auth: { method: 'approle', roleId, secretId, mount: approle } }).get(ref);

    const first = await backend.read(ref);
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const afterExpiry = await backend.read(ref);

    expect(first.value).toEqual({ v: 'by-root' });
    expect(afterExpiry.value).toEqual({ v: 'by-root' });
  });

  it('sends the namespace header so a secret in an OpenBao namespace is found there', async () => {
    const ns = uniqueName('ns');
    await root.write(`sys/namespaces/${ns}`, {});
    const nsClient = vaultClient(env);
    (nsClient as typeof nsClient & { namespace: string }).namespace = ns;
    await nsClient.mount({ mount_point: mount, type: 'kv', options: { version: '2' } });
    await nsClient.write(`${mount}/data/app`, { data: { where: 'namespace' } });
    await root.write(`${mount}/data/app-${ns}`, { data: { where: 'root' } });
    const ref = refOf('app', { namespace: ns });

    const backend = registry({ namespace: ns }).get(ref);

    expect((await backend.read(ref)).value).toEqual({ where: 'namespace' });
  });
});
