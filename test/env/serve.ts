import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { CACHE_DIR } from './paths.js';
import { startEnvironment } from './sandbox.js';

/**
 * Starts the test environment and keeps it running until Ctrl-C / SIGTERM, writing its
 * descriptor to .cache/env.json (or the path given as argument); `--clusters=N` starts N
 * Kubernetes clusters instead of 2, `--no-eso` runs no real ESO controller. Then:
 *   ROTOR_TEST_ENV_FILE=.cache/env.json npx vitest run --project integration
 * reuses it instead of starting servers for every run.
 */
const args = process.argv.slice(2);
const clusters = args.find((a) => a.startsWith('--clusters='));
const file = path.resolve(args.find((a) => !a.startsWith('--')) ?? path.join(CACHE_DIR, 'env.json'));
const env = await startEnvironment({
  clusters: clusters ? Number(clusters.split('=')[1]) : undefined,
  log: (msg) => console.log(`[rotor env] ${msg}`),
  eso: !args.includes('--no-eso'),
});
await writeFile(file, `${JSON.stringify(env.descriptor, null, 2)}\n`, { mode: 0o600 });
console.log(`[rotor env] descriptor written to ${file}; Ctrl-C to stop`);

let stopping = false;
const shutdown = async () => {
  if (stopping) return;
  stopping = true;
  await rm(file, { force: true });
  await env.stop();
  process.exit(0);
};
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
setInterval(() => {}, 1 << 30);
