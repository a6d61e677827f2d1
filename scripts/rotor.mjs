#!/usr/bin/env node
// `rotor` bin: the compiled CLI when built (dist/), otherwise the TypeScript source through tsx.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const built = join(root, 'dist', 'lib', 'cli.js');
if (!existsSync(built)) {
  const { register } = await import('tsx/esm/api');
  register();
}
const { runCli } = await import(pathToFileURL(existsSync(built) ? built : join(root, 'lib', 'cli.ts')).href);
process.exit(await runCli(process.argv.slice(2)));
