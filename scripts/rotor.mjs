#!/usr/bin/env node
// `rotor` bin: the TypeScript source through tsx in a checkout (never a stale build), the
// compiled dist/ where tsx is not installed (production installs omit dev dependencies).
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
let entry = join(root, 'dist', 'lib', 'cli.js');
try {
  const { register } = await import('tsx/esm/api');
  register();
  entry = join(root, 'lib', 'cli.ts');
} catch {
  // no tsx: use the build
}
const { runCli } = await import(pathToFileURL(entry).href);
process.exit(await runCli(process.argv.slice(2)));
