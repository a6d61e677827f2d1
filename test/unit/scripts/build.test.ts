import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs script without types
import { buildOptions, staticInputs } from '../../../scripts/build.mjs';

type Metafile = { outputs: Record<string, { inputs: Record<string, unknown>; imports: unknown[] }> };

/** SDKs only some configurations use: a cold start must not parse them before it listens. */
const LOADED_ON_USE = [
  '@kubernetes/client-node',
  '@azure/identity',
  '@azure/msal-node',
  '@azure/keyvault-secrets',
  '@azure/data-tables',
  '@azure/monitor-opentelemetry-exporter',
  'node-vault',
  'pg',
];

describe('npm run build (esbuild bundle)', () => {
  it('the host and the Functions entry points load no optional SDK before they run; each is in a chunk of its own', async () => {
    const { build } = await import('esbuild');
    const options = buildOptions();
    const result = await build({
      ...options,
      write: false,
      minify: false,
      sourcemap: false,
      logLevel: 'silent',
    });
    const metafile = result.metafile as Metafile;
    const packagesOf = (inputs: string[]) =>
      new Set(inputs.flatMap((i) => /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(i)?.[1] ?? []));
    const outputOf = (entry: string) =>
      Object.keys(metafile.outputs).find((o) => o.endsWith(`dist/${entry}.js`)) as string;

    for (const entry of ['lib/host/main', 'functions/index']) {
      const loaded = packagesOf(staticInputs(metafile, outputOf(entry)));
      expect(
        [...loaded].filter((p) => LOADED_ON_USE.includes(p)),
        entry,
      ).toEqual([]);
    }
    const everything = packagesOf(Object.values(metafile.outputs).flatMap((o) => Object.keys(o.inputs)));
    for (const sdk of ['@kubernetes/client-node', '@azure/keyvault-secrets', 'node-vault', 'pg'])
      expect(everything.has(sdk), sdk).toBe(true);
  }, 120_000);
});
