import { describe, expect, it } from 'vitest';

import { createBackends } from '../../../lib/backends/registry.js';
import { parseConfig } from '../../../lib/config.js';
import { ConflictError, NotFoundError } from '../../../lib/errors.js';
import type { KeyVaultRef } from '../../../lib/secret-ref.js';
import { keyVaultClientForTest, testEnv, uniqueName } from '../../env/index.js';
import { keyVaultEntry } from './support.js';

const env = testEnv();
const config = parseConfig({ keyVaults: [keyVaultEntry(env)] });
const refOf = (name: string): KeyVaultRef => ({
  backend: 'azure-keyvault',
  vault: env.lowkey.vaultName,
  name,
});

describe('Key Vault backend against the test Key Vault endpoint', () => {
  it('writes a new version with tags, content type and validity, and reads it back', async () => {
    const backend = createBackends(config).get(refOf('x'));
    const ref = refOf(uniqueName('kv-roundtrip'));
    const notBefore = new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000);
    const expiresOn = new Date(notBefore.getTime() + 30 * 86_400_000);

    const first = await backend.write(ref, { value: 'one', metadata: { owner: 'team-a' } });
    const second = await backend.write(ref, {
      value: 'two',
      metadata: { owner: 'team-a', 'rotor-generator': 'password' },
      contentType: 'text/plain',
      notBefore,
      expiresOn,
    });
    const read = await backend.read(ref);

    expect(second.version).not.toBe(first.version);
    expect(read).toMatchObject({
      version: second.version,
      value: 'two',
      contentType: 'text/plain',
      enabled: true,
      metadata: { owner: 'team-a', 'rotor-generator': 'password' },
      notBefore,
      expiresOn,
    });
    expect(read.createdOn).toBeInstanceOf(Date);
  });

  it('reads an earlier version by its id, with that version’s tags (what an undo restores)', async () => {
    const backend = createBackends(config).get(refOf('x'));
    const ref = refOf(uniqueName('kv-version'));
    const first = await backend.write(ref, { value: 'one', metadata: { generation: 'first' } });
    await backend.write(ref, { value: 'two', metadata: { generation: 'second' } });

    const earlier = await backend.read(ref, first.version);

    expect(earlier).toMatchObject({
      version: first.version,
      value: 'one',
      metadata: { generation: 'first' },
    });
    expect((await backend.read(ref)).value).toBe('two');
  });

  it('maps a missing secret to the shared NotFoundError', async () => {
    const backend = createBackends(config).get(refOf('x'));

    await expect(backend.readMetadata(refOf(uniqueName('kv-missing')))).rejects.toBeInstanceOf(NotFoundError);
  });

  it('refuses a write conditioned on a version that is no longer current', async () => {
    const backend = createBackends(config).get(refOf('x'));
    const ref = refOf(uniqueName('kv-cas'));
    const first = await backend.write(ref, { value: 'one' });
    await backend.write(ref, { value: 'two' });

    const stale = backend.write(ref, { value: 'three', expectedVersion: first.version });

    await expect(stale).rejects.toBeInstanceOf(ConflictError);
    expect((await backend.read(ref)).value).toBe('two');
  });

  it('lists every secret page by page with the tags of its current version', async () => {
    const backend = createBackends(config).get(refOf('x'));
    const names = Array.from({ length: 5 }, () => uniqueName('kv-list'));
    for (const name of names)
      await backend.write(refOf(name), { value: 'v', metadata: { 'rotor-generator': 'bytes' } });

    const pages: number[] = [];
    const found = new Map<string, Record<string, string>>();
    for await (const page of backend.list({ pageSize: 2 })) {
      pages.push(page.length);
      for (const s of page) if (s.ref.backend === 'azure-keyvault') found.set(s.ref.name, { ...s.metadata });
    }

    expect(Math.max(...pages)).toBeLessThanOrEqual(2);
    expect(pages.length).toBeGreaterThanOrEqual(3);
    for (const name of names) expect(found.get(name)).toEqual({ 'rotor-generator': 'bytes' });
  });

  it('answers health when reachable, and reports an unreachable vault without throwing', async () => {
    const registry = createBackends(
      parseConfig({
        keyVaults: [
          keyVaultEntry(env),
          {
            name: 'nowhere',
            url: 'https://127.0.0.1:9',
            auth: { kind: 'emulator' },
            tls: keyVaultEntry(env).tls,
          },
        ],
      }),
    );

    const health = await registry.health();

    expect(health.find((h) => h.name === env.lowkey.vaultName)).toMatchObject({ ok: true });
    expect(health.find((h) => h.name === 'nowhere')).toMatchObject({ ok: false });
  });

  it('trusts the configured CA for its own client only: without it the endpoint certificate is refused', async () => {
    const withoutCa = createBackends(
      parseConfig({
        keyVaults: [{ name: env.lowkey.vaultName, url: env.lowkey.vaultUrl, auth: { kind: 'emulator' } }],
      }),
    );
    const seeded = uniqueName('kv-tls');
    await keyVaultClientForTest(env.lowkey).setSecret(seeded, 'v');

    const health = await withoutCa.health();

    expect(health[0]?.ok).toBe(false);
    expect(health[0]?.error).toMatch(/unreachable|certificate|self.signed/i);
    await expect(createBackends(config).get(refOf(seeded)).read(refOf(seeded))).resolves.toMatchObject({
      value: 'v',
    });
  });
});
