import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root (test/env is two levels down). */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Downloads and builds kept between runs; git-ignored. */
export const CACHE_DIR = path.join(REPO_ROOT, '.cache');
