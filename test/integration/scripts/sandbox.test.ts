/**
 * Issue #15.4: `npm run sandbox` keeps its servers running; when one of them dies the
 * sandbox must not limp on half-alive. The real script runs (one cluster, a folder of its
 * own), one of its servers (Azurite) is killed from outside, and the sandbox stops,
 * cleans up everything it started, says which server died, and exits non-zero.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../env/paths.js';

let sandbox: ChildProcess | undefined;
const dirs: string[] = [];

afterAll(async () => {
  if (sandbox?.pid && sandbox.exitCode === null) process.kill(-sandbox.pid, 'SIGKILL');
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

/** Processes whose parent chain leads to `root` (from /proc), with their command lines. */
function descendants(root: number): Array<{ pid: number; cmd: string }> {
  const parent = new Map<number, number>();
  const cmd = new Map<number, string>();
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      parent.set(pid, Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
      cmd.set(pid, readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' '));
    } catch {
      // gone meanwhile
    }
  }
  const under = (pid: number): boolean => {
    for (let p = parent.get(pid); p !== undefined && p > 1; p = parent.get(p)) if (p === root) return true;
    return false;
  };
  return [...parent.keys()].filter(under).map((pid) => ({ pid, cmd: cmd.get(pid) ?? '' }));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
  } catch {
    return false;
  }
}

describe('npm run sandbox when one of its servers dies', () => {
  it('stops, cleans up, says which server died, and exits non-zero', { timeout: 420_000 }, async () => {
    const dir = path.join(await mkdtemp(path.join(os.tmpdir(), 'rotor-sandbox-test-')), 'sandbox');
    dirs.push(path.dirname(dir));
    let output = '';
    sandbox = spawn(process.execPath, [path.join(REPO_ROOT, 'scripts', 'sandbox.mjs')], {
      cwd: REPO_ROOT,
      detached: true,
      stdio: ['pipe', 'pipe', 'pipe'],
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        ROTOR_SANDBOX_DIR: dir,
        ROTOR_SANDBOX_CLUSTERS: '1',
      },
    });
    const exited = new Promise<number | null>((resolve) => sandbox!.once('exit', (code) => resolve(code)));
    sandbox.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    sandbox.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    const deadline = Date.now() + 360_000;
    while (!output.includes('rotor sandbox is running')) {
      if (sandbox.exitCode !== null || Date.now() > deadline)
        throw new Error(`the sandbox did not start:\n${output}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    const started = descendants(sandbox.pid!);
    const azurite = started.find((p) => p.cmd.includes('azurite') && p.cmd.includes('--tablePort'));
    expect(azurite, started.map((p) => p.cmd).join('\n')).toBeDefined();
    expect(existsSync(path.join(dir, 'sandbox.env'))).toBe(true);

    process.kill(azurite!.pid, 'SIGKILL');
    const code = await Promise.race([
      exited,
      new Promise((r) => setTimeout(() => r('still running'), 120_000)),
    ]);

    expect(code, output).toBe(1);
    expect(output).toMatch(
      new RegExp(`azurite \\(pid ${azurite!.pid}\\) stopped unexpectedly \\(killed by SIGKILL\\)`),
    );
    expect(output).toMatch(/the sandbox stopped because azurite died/);
    expect(existsSync(dir), 'its folder (kubeconfig, env file) is removed').toBe(false);
    // The sandbox's reaper (a helper that outlives it to stop its process groups) takes up
    // to ~3 s after the sandbox's exit to make sure every server is gone, then exits itself.
    let left = started.filter((p) => alive(p.pid));
    for (const until = Date.now() + 10_000; left.length > 0 && Date.now() < until; ) {
      await new Promise((r) => setTimeout(r, 200));
      left = left.filter((p) => alive(p.pid));
    }
    expect(left.map((p) => p.cmd)).toEqual([]);
  });
});
