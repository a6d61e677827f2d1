import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The checkout root, and the `rotor` bin as a user runs it (npx rotor = node scripts/rotor.mjs). */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const BIN = join(ROOT, 'scripts', 'rotor.mjs');

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the real CLI as a process in `cwd` with only `env` (plus PATH/HOME): no setting of
 * the developer's shell leaks in. `until` stops a long-running command (serve) once its
 * output says so, with SIGINT as Ctrl-C would.
 */
export function rotor(
  args: string[],
  options: { cwd?: string; env?: Record<string, string>; until?: RegExp; timeoutMs?: number } = {},
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: options.cwd ?? ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    const check = () => {
      if (options.until?.test(stdout + stderr)) child.kill('SIGINT');
    };
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      check();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      check();
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`rotor ${args.join(' ')} did not finish: ${stdout}${stderr}`));
    }, options.timeoutMs ?? 240_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** A folder with the given files, outside the checkout (no .env of the checkout's applies there... except the root's). */
export function folderWith(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'rotor-cli-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

/** A kubeconfig whose API server is a closed loopback port: connection refused at once. */
export const UNREACHABLE_KUBECONFIG = `apiVersion: v1
kind: Config
current-context: gone
clusters: [{ name: gone, cluster: { server: 'https://127.0.0.1:1' } }]
users: [{ name: rotor, user: { token: not-a-real-token } }]
contexts: [{ name: gone, context: { cluster: gone, user: rotor } }]
`;
