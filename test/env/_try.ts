import { startEnvironment } from './sandbox.js';

const clusters = Number(process.argv[2] ?? 0);
const t = Date.now();
const env = await startEnvironment({
  clusters,
  log: (m) => console.log(`${((Date.now() - t) / 1000).toFixed(1)}s ${m}`),
});
console.log(
  JSON.stringify(
    {
      ...env.descriptor,
      clusters: env.descriptor.clusters.map((c) => c.server),
      lowkey: { ...env.descriptor.lowkey, caPem: '...' },
    },
    null,
    1,
  ),
);
await env.stop();
console.log('stopped', (Date.now() - t) / 1000);
