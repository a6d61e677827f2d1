#!/usr/bin/env node
// `npm run demo`: installs what it needs, then runs the sandbox demo (scripts/demo.ts).
import { ensureDependencies, runTs } from './bootstrap.mjs';

ensureDependencies();
process.exit(runTs('scripts/demo.ts', process.argv.slice(2)));
