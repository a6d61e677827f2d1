import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseEnv } from 'node:util';

/**
 * The one way rotor reads its environment: the process environment over a `.env` file, as
 * `npm start`, `rotor serve`, `rotor config check` and every other command see it. The
 * `.env` is the one in the current folder, else the one at the root of the checkout, so a
 * command run from `docs/` sees the same settings as one run from the root. Values already
 * in the process environment win (Azure app settings never meet a `.env`).
 */
export interface Environment {
  vars: Readonly<Record<string, string | undefined>>;
  /** The `.env` file that contributed, if any. */
  envFile?: string;
  /** Where a relative ROTOR_CONFIG is resolved from: the `.env`'s folder when it set it, else the current folder. */
  baseDir: string;
}

/** The folder holding package.json above this module: the checkout (lib/config) or the built package (dist/lib/config). */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) return process.cwd();
    dir = parent;
  }
  return dir;
}

export function readEnvironment(cwd: string = process.cwd()): Environment {
  const candidates = [join(cwd, '.env'), join(packageRoot(), '.env')];
  const envFile = candidates.find((f) => existsSync(f));
  const fromFile = envFile ? parseEnv(readFileSync(envFile, 'utf8')) : {};
  const vars = { ...fromFile, ...process.env };
  const configFromFile =
    envFile !== undefined && process.env.ROTOR_CONFIG === undefined && fromFile.ROTOR_CONFIG !== undefined;
  return {
    vars,
    ...(envFile ? { envFile } : {}),
    baseDir: configFromFile && envFile ? dirname(envFile) : cwd,
  };
}

/** An absolute path for a path the user wrote relative to `baseDir` (`~/` is their home). */
export function resolveUserPath(path: string, baseDir: string, home = process.env.HOME ?? ''): string {
  if (path === '~' || path.startsWith('~/')) return join(home, path.slice(1));
  return isAbsolute(path) ? path : resolve(baseDir, path);
}
