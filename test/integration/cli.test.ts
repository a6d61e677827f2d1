import { afterEach, describe, expect, it, vi } from 'vitest';
import { runCli } from '../../lib/cli.js';
import { testEnv, uniqueName } from '../env/index.js';
import { vaultEntry } from './backends/support.js';

/** Issue #12.5: a traversing path from the command line is a usage error, and OpenBao never hears of it. */
const env = testEnv();

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

async function auditedPaths(): Promise<string[]> {
  const entries = (await (await fetch(`${env.openbao.auditRelayUrl}/entries`)).json()) as Array<{
    entry: { request?: { path?: string } };
  }>;
  return entries.map((e) => e.entry.request?.path ?? '');
}

describe('rotor rotate / refresh on the command line', () => {
  it.each([
    ['rotate', '../../sys/policies/acl/'],
    ['refresh', '%2e%2e/%2e%2e/sys/policies/acl/'],
  ])('%s --path %s… exits 2 and makes no call to OpenBao', async (command, traversal) => {
    const marker = uniqueName('traversal');
    vi.stubEnv(
      'ROTOR_CONFIG_JSON',
      JSON.stringify({
        vaults: [vaultEntry(env)],
        state: { connectionString: env.azurite.tableConnectionString },
      }),
    );
    const err: string[] = [];
    vi.spyOn(console, 'log').mockImplementation(() => undefined);
    vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void err.push(a.join(' ')));

    const code = await runCli([command, '--vault', 'openbao', '--path', `${traversal}${marker}`]);

    expect(code).toBe(2);
    expect(err.join('\n')).toMatch(/'\.' or '\.\.' segment|percent-encoded/);
    expect((await auditedPaths()).filter((p) => p.includes(marker))).toEqual([]);
  });
});
