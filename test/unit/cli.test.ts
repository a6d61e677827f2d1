import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { runCli } from '../../lib/cli.js';

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
  vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void err.push(a.join(' ')));
  return { out, err };
}

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

describe('rotor command line', () => {
  it('hash -f prints the Reloader hash of a Secret manifest', async () => {
    const io = capture();

    const code = await runCli(['hash', '-f', 'test/fixtures/restart/manifests/secret-db.yaml', '--json']);

    expect(code).toBe(0);
    const result = JSON.parse(io.out.join('\n')) as { kind: string; hash: string };
    expect(result.kind).toBe('Secret');
    expect(result.hash).toMatch(/^[0-9a-f]{40}$/);
  });

  it('config check prints what it understood', async () => {
    vi.stubEnv('ROTOR_CONFIG_JSON', JSON.stringify({ keyVaults: [{ name: 'kv-prod', rotate: false }] }));
    const io = capture();

    const code = await runCli(['config', 'check']);

    expect(code).toBe(0);
    expect(io.out.join('\n')).toContain('key vaults (1): kv-prod');
    expect(io.out.join('\n')).toContain('every request refused');
  });

  it('config check reports every error at once and exits 2', async () => {
    vi.stubEnv(
      'ROTOR_CONFIG_JSON',
      JSON.stringify({ clusters: [{ name: 'a' }], restart: { strategy: 'x' } }),
    );
    const io = capture();

    const code = await runCli(['config', 'check']);

    expect(code).toBe(2);
    expect(io.err.join('\n')).toMatch(/clusters\.0[\s\S]*restart\.strategy/);
  });

  it('an unknown command or a missing secret name says what to do', async () => {
    const io = capture();

    expect(await runCli(['frobnicate'])).toBe(2);
    expect(await runCli(['hash'])).toBe(2);
    expect(io.err.join('\n')).toContain('unknown command "frobnicate"');
    expect(io.err.join('\n')).toContain('hash needs -f FILE');
  });
});

describe('rotor hash', () => {
  it('prints the SHA-1 hash every Reloader release writes, whatever the environment says', async () => {
    vi.stubEnv('ROTOR_HASH_ALGORITHM', 'sha512-256');
    const io = capture();

    const code = await runCli(['hash', '-f', 'test/fixtures/restart/manifests/secret-db.yaml', '--json']);

    expect(code).toBe(0);
    expect((JSON.parse(io.out.join('\n')) as { hash: string }).hash).toMatch(/^[0-9a-f]{40}$/);
  });

  it('refuses unpadded base64 as the API server does, and fails', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'rotor-hash-'));
    const file = path.join(dir, 'secret.yaml');
    writeFileSync(file, 'kind: Secret\nmetadata: {name: s}\ndata: {k: YQ}\n');
    const io = capture();

    const code = await runCli(['hash', '-f', file]);

    expect(code).not.toBe(0);
    expect(io.err.join('\n')).toMatch(/data\.k: is not standard base64/);
  });
});
