/**
 * `npm run bench`: runs every benchmark in its own process (so each one's memory is its
 * own), then writes bench/README.md from bench/results/*.json.
 * ROTOR_BENCH_ONLY=e2e,cold-start runs a subset; ROTOR_BENCH_SCALE shrinks restart-scale.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { writeReport } from './report.js';

const BENCHES = [
  'package-size',
  'refresh-latency',
  'e2e',
  'pods-ready',
  'cold-start',
  'restart-scale',
  'batch-flood',
];
const only = process.env.ROTOR_BENCH_ONLY?.split(',').map((s) => s.trim());
const failed: string[] = [];
for (const name of BENCHES.filter((b) => !only || only.includes(b))) {
  console.log(`\n▶ bench ${name}`);
  const started = Date.now();
  const file = fileURLToPath(new URL(`./${name}.ts`, import.meta.url));
  // --expose-gc: restart-scale reports the heap its index holds after a collection.
  const r = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', file], { stdio: 'inherit' });
  console.log(`${r.status === 0 ? '✔' : '✖'} ${name} (${((Date.now() - started) / 1000).toFixed(0)} s)`);
  if (r.status !== 0) failed.push(name);
}
await writeReport();
if (failed.length > 0) {
  console.error(`failed: ${failed.join(', ')}`);
  process.exit(1);
}
