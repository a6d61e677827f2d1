/**
 * Issue #13.2: the ESO refresh benchmark runs against the real ESO controller in the suite,
 * not only by hand. bench/refresh-latency.ts runs here as its own process, on the suite's
 * servers (the real ESO v0.16.2 in cluster alpha), with a few samples and its results in a
 * temporary file (the committed bench/results stay the quiet machine's). What is checked is
 * that every forced sync on the real controller was measured, not how fast it was: speed
 * targets live in the benchmark's own results.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { testEnv } from '../../env/index.js';
import { REPO_ROOT } from '../../env/paths.js';

const SAMPLES = 3;
let dir: string | undefined;

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

function run(env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/refresh-latency.ts'], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => {
      output += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      output += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output: output.slice(-4000) }));
  });
}

interface Stats {
  n: number;
  p50Ms: number;
}

describe('the ESO refresh benchmark on the real ESO controller', () => {
  it('measures every forced sync of the real controller, beside the stand-ins and the poll', async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'rotor-bench-'));
    const envFile = path.join(dir, 'env.json');
    const out = path.join(dir, 'refresh-latency.json');
    await writeFile(envFile, JSON.stringify(testEnv()), { mode: 0o600 });

    const { code, output } = await run({
      ROTOR_TEST_ENV_FILE: envFile,
      ROTOR_BENCH_SAMPLES: String(SAMPLES),
      ROTOR_BENCH_RESULTS: out,
    });
    expect(code, output).toBe(0);
    const results = JSON.parse(await readFile(out, 'utf8')) as {
      eso: { controller: string; forced: Record<string, Stats>; poll10s: Stats };
      esoStandin: { forced: Record<string, Stats> };
      vso: { forced: Record<string, Stats> };
    };

    expect(results.eso.controller).toBe(`external-secrets ${testEnv().eso?.version}`);
    expect(results.eso.forced.forceToSecretUpdated?.n).toBe(SAMPLES);
    expect(results.eso.forced.forceToConfirmed?.n).toBe(SAMPLES);
    expect(results.eso.poll10s.n).toBe(SAMPLES);
    expect(results.esoStandin.forced.forceToConfirmed?.n).toBe(SAMPLES);
    expect(results.vso.forced.forceToConfirmed?.n).toBe(SAMPLES);
    for (const s of [results.eso.forced.forceToConfirmed, results.eso.poll10s]) {
      expect(Number.isFinite(s?.p50Ms)).toBe(true);
    }
  }, 180_000);
});
