#!/usr/bin/env node
// `npm run bench`: every benchmark in bench/, results in bench/results/*.json and bench/README.md.
import { ensureDependencies, runTs } from './bootstrap.mjs';

ensureDependencies();
process.exit(runTs('bench/run.ts', process.argv.slice(2)));
