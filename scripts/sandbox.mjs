#!/usr/bin/env node
// `npm run sandbox`: installs what it needs, then keeps a local sandbox running (scripts/sandbox.ts).
import { ensureDependencies, runTs } from './bootstrap.mjs';

// Ctrl-C reaches the sandbox itself, which cleans up; this parent waits for it instead of dying first.
process.on('SIGINT', () => {});
ensureDependencies();
process.exit(runTs('scripts/sandbox.ts', process.argv.slice(2)));
