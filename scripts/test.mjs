#!/usr/bin/env node
// `npm test`: lint, type-check, then every vitest project (unit + integration on real servers).
// Steps run in order and stop at the first failure so the reason is the last thing printed.
import { spawnSync } from 'node:child_process';
import { ensureDependencies, root } from './bootstrap.mjs';

ensureDependencies();

const steps = [
  ['lint', 'npx', ['biome', 'check', '.']],
  ['type-check', 'npx', ['tsc', '-p', 'tsconfig.json', '--noEmit']],
  ['tests', 'npx', ['vitest', 'run', ...process.argv.slice(2)]],
];

for (const [name, cmd, args] of steps) {
  const started = Date.now();
  console.log(`\n▶ ${name}: ${cmd} ${args.join(' ')}`);
  const result = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env: process.env });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  if (result.status !== 0) {
    console.error(`✖ ${name} failed after ${seconds}s`);
    process.exit(result.status ?? 1);
  }
  console.log(`✔ ${name} (${seconds}s)`);
}
