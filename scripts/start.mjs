#!/usr/bin/env node
// `npm start`: the local host from the bundle in dist/, rebuilt first only if a source changed.
import { ensureBuilt } from './build.mjs';

process.setSourceMapsEnabled(true);
try {
  await ensureBuilt({ log: (m) => console.error(m) });
  const { main } = await import('../dist/lib/host/main.js');
  await main();
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
}
