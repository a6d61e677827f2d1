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

describe('rotor hash follows the configured Reloader digest', () => {
  it('prints the SHA-512/256 hash when ROTOR_HASH_ALGORITHM says so', async () => {
    vi.stubEnv('ROTOR_HASH_ALGORITHM', 'sha512-256');
    const io = capture();

    const code = await runCli(['hash', '-f', 'test/fixtures/restart/manifests/secret-db.yaml', '--json']);

    expect(code).toBe(0);
    expect((JSON.parse(io.out.join('\n')) as { hash: string }).hash).toMatch(/^[0-9a-f]{64}$/);
  });
});
