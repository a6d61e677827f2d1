import { readFile } from 'node:fs/promises';
import type { TestProject } from 'vitest/node';
import type { EnvDescriptor } from './descriptor.js';
import { startEnvironment } from './sandbox.js';

/**
 * vitest globalSetup of the integration project: starts the real servers once per run
 * and provides their descriptor to every test file (`testEnv()` in test/env/index.ts).
 *
 * ROTOR_TEST_ENV_FILE=<descriptor.json> reuses an environment that is already running
 * (`npx tsx test/env/serve.ts` writes one), which saves the start-up on repeated runs.
 * ROTOR_TEST_CLUSTERS=<n> starts n Kubernetes clusters instead of 2 (0 for tests that
 * need none).
 */
export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const reuse = process.env.ROTOR_TEST_ENV_FILE;
  if (reuse) {
    const descriptor = JSON.parse(await readFile(reuse, 'utf8')) as EnvDescriptor;
    console.log(`[rotor env] using the running environment described in ${reuse}`);
    project.provide('rotorEnv', descriptor);
    return undefined;
  }
  const clusters = process.env.ROTOR_TEST_CLUSTERS;
  const env = await startEnvironment({
    clusters: clusters ? Number(clusters) : undefined,
    log: (msg) => console.log(`[rotor env] ${msg}`),
    eso: true,
  });
  project.provide('rotorEnv', env.descriptor);
  return () => env.stop();
}
