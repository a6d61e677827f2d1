import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { EnvError } from './errors.js';
import { sleep } from './wait.js';

/**
 * Runs `fn` while holding a lock folder, so concurrent test runs sharing one checkout
 * (several vitest processes) install a cached tool once. A lock whose holder died is
 * taken over.
 */
export async function withFileLock<T>(
  lockDir: string,
  fn: () => Promise<T>,
  timeoutMs = 15 * 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  // A fresh clone has no .cache/ yet: the lock's parent must exist for mkdir to mean "taken".
  await mkdir(path.dirname(lockDir), { recursive: true });
  for (;;) {
    try {
      await mkdir(lockDir);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = Number.parseInt(await readFile(path.join(lockDir, 'pid'), 'utf8').catch(() => ''), 10);
    if (Number.isInteger(holder) && !isAlive(holder)) {
      await rm(lockDir, { recursive: true, force: true });
      continue;
    }
    if (Date.now() > deadline) throw new EnvError(`timed out waiting for ${lockDir} (held by pid ${holder})`);
    await sleep(250);
  }
  try {
    await writeFile(path.join(lockDir, 'pid'), String(process.pid));
    return await fn();
  } finally {
    await rm(lockDir, { recursive: true, force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
