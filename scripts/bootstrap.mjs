// Set-up shared by `npm test`, `npm run demo` and `npm run bench` on a fresh clone:
// install the npm dependencies when they are missing or older than the lockfile.
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');

export function ensureDependencies() {
  const [major, minor] = process.versions.node.split('.').map(Number);
  if (major < 20 || (major === 20 && minor < 19)) {
    console.error(`rotor: Node.js ${process.versions.node} is too old: install Node.js 20.19 or newer`);
    process.exit(2);
  }
  const marker = join(root, 'node_modules', '.package-lock.json');
  const lock = join(root, 'package-lock.json');
  if (existsSync(marker) && statSync(marker).mtimeMs >= statSync(lock).mtimeMs) return;
  // npm install from the lockfile is exact and leaves it unchanged (it lists every platform's
  // optional packages; test/unit/package-lock.test.ts); unlike npm ci it keeps a usable node_modules.
  console.log('▶ installing npm dependencies (npm install from the lockfile)');
  const r = spawnSync('npm', ['install', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error('rotor: npm install failed; see the output above');
    process.exit(r.status ?? 1);
  }
}

/** Runs a TypeScript entry point with tsx, inheriting stdio; returns its exit code. */
export function runTs(file, args = []) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, file), ...args], {
    cwd: root,
    stdio: 'inherit',
  });
  return r.status ?? 1;
}
