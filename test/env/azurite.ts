import path from 'node:path';
import { startProcess } from './managed-process.js';
import { REPO_ROOT } from './paths.js';
import { freePort } from './ports.js';
import { makeTempDir, removeTempDir } from './temp-dir.js';
import { waitUntil } from './wait.js';

/**
 * Azurite's Table service (the npm dev dependency), in memory, over http on loopback,
 * with the well-known development account (its key is public, documented by Microsoft).
 */
export interface Azurite {
  tableConnectionString: string;
  /** http://127.0.0.1:<port>/devstoreaccount1 */
  tableUrl: string;
  stop(): Promise<void>;
}

const ACCOUNT = 'devstoreaccount1';
const ACCOUNT_KEY =
  'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';
const ENTRY = path.join(REPO_ROOT, 'node_modules', 'azurite', 'dist', 'src', 'table', 'main.js');

export async function startAzurite(
  opts: {
    readyTimeoutMs?: number /** Default: a free one. A restart on the same port is a lost store. */;
    port?: number;
  } = {},
): Promise<Azurite> {
  const dir = await makeTempDir('rotor-azurite');
  const port = opts.port ?? (await freePort());
  const proc = await startProcess({
    name: 'azurite',
    command: process.execPath,
    args: [
      ENTRY,
      '--tableHost',
      '127.0.0.1',
      '--tablePort',
      String(port),
      // In memory: nothing to clean up, nothing slow on disk (excludes --location).
      '--inMemoryPersistence',
      // No data leaves the machine.
      '--disableTelemetry',
      '--skipApiVersionCheck',
      '--loose',
      '--silent',
    ],
    cwd: dir,
    logPath: path.join(dir, 'azurite.log'),
  });
  const stop = async () => {
    await proc.stop();
    await removeTempDir(dir);
  };
  const tableUrl = `http://127.0.0.1:${port}/${ACCOUNT}`;
  try {
    // Any HTTP answer means the listener is up (an unauthenticated request gets 4xx).
    await waitUntil(async () => ((await fetch(tableUrl)).status > 0 ? true : undefined), {
      what: `${tableUrl} answers HTTP`,
      timeoutMs: opts.readyTimeoutMs ?? 120_000,
      process: proc,
    });
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    tableConnectionString: `DefaultEndpointsProtocol=http;AccountName=${ACCOUNT};AccountKey=${ACCOUNT_KEY};TableEndpoint=${tableUrl};`,
    tableUrl,
    stop,
  };
}
