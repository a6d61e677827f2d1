import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The local host's key when ROTOR_HOST_KEY is not set: generated at start and written,
 * readable by the owner only, to `.cache/host-key` in the project folder, where the demo,
 * the sandbox and any client on this machine read it.
 */
export function hostKeyFile(): string {
  return path.join(projectRoot(), '.cache', 'host-key');
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

/** The folder holding package.json above this module (lib/host in a checkout, dist/lib/host when built). */
function projectRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) return process.cwd();
    dir = parent;
  }
  return dir;
}
