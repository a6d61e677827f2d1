import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { startChildService } from '../../env/child-service.js';
import type { KeyVaultStandin } from '../../env/keyvault-standin.js';
import { onUnexpectedExit, startProcess, type UnexpectedExit } from '../../env/managed-process.js';

const MANAGED_PROCESS = fileURLToPath(new URL('../../env/managed-process.ts', import.meta.url));
const TEMP_DIR = fileURLToPath(new URL('../../env/temp-dir.ts', import.meta.url));
const CHILD_SERVICE = fileURLToPath(new URL('../../env/child-service.ts', import.meta.url));
const KEY_VAULT = new URL('../../env/keyvault-standin.ts', import.meta.url);
const ECHO = new URL('./echo-service.ts', import.meta.url);

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

async function eventually(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!condition() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  return condition();
}

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

describe('a server that dies is told (onUnexpectedExit), a server stopped is not', () => {
  it('reports a server killed from outside, with its name and signal, and not one stopped by stop()', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'rotor-proc-'));
    dirs.push(dir);
    const died: UnexpectedExit[] = [];
    const unsubscribe = onUnexpectedExit((e) => died.push(e));
    try {
      const victim = await startProcess({
        name: 'victim',
        command: 'sleep',
        args: ['300'],
        logPath: path.join(dir, 'v'),
      });
      const stopped = await startProcess({
        name: 'stopped',
        command: 'sleep',
        args: ['300'],
        logPath: path.join(dir, 's'),
      });

      process.kill(victim.pid, 'SIGKILL');
      await victim.exited;
      await stopped.stop();

      expect(died.map((d) => [d.name, d.signal])).toEqual([['victim', 'SIGKILL']]);
    } finally {
      unsubscribe();
    }
  });
});

describe('test servers leave no processes behind', () => {
  it('stop() ends the server and everything it forked', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'rotor-proc-'));
    dirs.push(dir);
    const proc = await startProcess({
      name: 'forker',
      command: 'sh',
      args: ['-c', 'sleep 300 & sleep 300 & wait'],
      logPath: path.join(dir, 'log'),
      stopGraceMs: 1_000,
    });
    expect(groupAlive(proc.pid)).toBe(true);

    await proc.stop();

    expect(await eventually(() => !groupAlive(proc.pid), 2_000)).toBe(true);
  });

  it('servers die and their temporary folders go when the process that started them is SIGKILLed', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'rotor-proc-'));
    dirs.push(dir);
    const script = path.join(dir, 'owner.mts');
    await writeFile(
      script,
      [
        `import { startProcess } from ${JSON.stringify(MANAGED_PROCESS)};`,
        `import { makeTempDir } from ${JSON.stringify(TEMP_DIR)};`,
        `const p = await startProcess({ name: 'orphan-candidate', command: 'sleep', args: ['300'], logPath: ${JSON.stringify(path.join(dir, 'log'))} });`,
        "const tmp = await makeTempDir('rotor-cleanup-test');",
        'console.log(JSON.stringify({ pid: p.pid, tmp }));',
        'setInterval(() => {}, 1000);',
      ].join('\n'),
    );
    const owner = spawn(process.execPath, ['--import', 'tsx', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const started = await new Promise<{ pid: number; tmp: string }>((resolve, reject) => {
      owner.stdout.once('data', (d: Buffer) => resolve(JSON.parse(d.toString())));
      owner.once('exit', (code) => reject(new Error(`owner exited early (${code})`)));
    });
    expect(groupAlive(started.pid)).toBe(true);
    expect(existsSync(started.tmp)).toBe(true);

    owner.kill('SIGKILL');

    expect(await eventually(() => !groupAlive(started.pid), 8_000)).toBe(true);
    expect(await eventually(() => !existsSync(started.tmp), 5_000)).toBe(true);
  });
});

describe('a service in a child process of its own (child-service.ts)', () => {
  it('serves from the child, and stop() ends the child', async () => {
    const kv = await startChildService<Omit<KeyVaultStandin, 'stop'>>(
      'kv',
      KEY_VAULT,
      'startKeyVaultStandin',
      {
        vaultName: 'child-test',
      },
    );
    try {
      expect(kv.pid).not.toBe(process.pid);
      expect(kv.value.vaultName).toBe('child-test');
      expect(kv.value.caPem).toContain('BEGIN CERTIFICATE');
      expect(alive(kv.pid)).toBe(true);
    } finally {
      await kv.stop();
    }
    expect(await eventually(() => !alive(kv.pid), 2_000)).toBe(true);
  });

  it('after the start, parent and child exchange messages over the channel, in order', async () => {
    const received: unknown[] = [];
    const echo = await startChildService(
      'echo',
      ECHO,
      'startEcho',
      { greeting: 'hello' },
      {
        onMessage: (data) => received.push(data),
      },
    );
    try {
      for (const n of [1, 2, 3]) echo.send({ n });
      expect(await eventually(() => received.length === 4, 5_000)).toBe(true);
      expect(received).toEqual([
        { echo: 'hello', pid: echo.pid },
        { echo: { n: 1 }, pid: echo.pid },
        { echo: { n: 2 }, pid: echo.pid },
        { echo: { n: 3 }, pid: echo.pid },
      ]);
    } finally {
      await echo.stop();
    }
  });

  it('a start that fails is reported with its reason, and leaves no child', async () => {
    await expect(startChildService('kv', KEY_VAULT, 'noSuchExport', {})).rejects.toThrow(
      /exports no function noSuchExport/,
    );
  });

  it('the child dies when the process that started it is SIGKILLed', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'rotor-proc-'));
    dirs.push(dir);
    const script = path.join(dir, 'owner.mts');
    await writeFile(
      script,
      [
        `import { startChildService } from ${JSON.stringify(CHILD_SERVICE)};`,
        `const kv = await startChildService('kv', new URL(${JSON.stringify(KEY_VAULT.href)}), 'startKeyVaultStandin', { vaultName: 'orphan' });`,
        'console.log(JSON.stringify({ pid: kv.pid }));',
        'setInterval(() => {}, 1000);',
      ].join('\n'),
    );
    const owner = spawn(process.execPath, ['--import', 'tsx', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const started = await new Promise<{ pid: number }>((resolve, reject) => {
      owner.stdout.once('data', (d: Buffer) => resolve(JSON.parse(d.toString())));
      owner.once('exit', (code) => reject(new Error(`owner exited early (${code})`)));
    });
    expect(alive(started.pid)).toBe(true);

    owner.kill('SIGKILL');

    expect(await eventually(() => !alive(started.pid), 5_000)).toBe(true);
  });
});
