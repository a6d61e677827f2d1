import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { packageRoot } from '../config/environment.js';

/**
 * The local host's key when ROTOR_HOST_KEY is not set: generated at start and written,
 * readable by the owner only, to `.cache/host-key` in the project folder, where the demo,
 * the sandbox and any client on this machine read it.
 */
export function hostKeyFile(): string {
  return path.join(packageRoot(), '.cache', 'host-key');
}

export async function generateHostKey(file = hostKeyFile()): Promise<string> {
  const key = randomBytes(32).toString('base64url');
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  await writeFile(file, `${key}\n`, { mode: 0o600 });
  // An existing file keeps its mode on write: make sure it is the owner's only.
  await chmod(file, 0o600);
  return key;
}

/** The key a running local host wrote, for clients on this machine. */
export async function readHostKey(file = hostKeyFile()): Promise<string> {
  return (await readFile(file, 'utf8')).trim();
}
