import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../../lib/host/main.js';
import { recordingApp } from '../../unit/functions/recording-app.js';
import { freshEvents, hostConfig, notify } from './support.js';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('npm start (lib/host/main.ts)', () => {
  it('starts with no clusters or backends configured, logs "nothing to do" and answers events 200', async () => {
    const app = recordingApp({ config: hostConfig({ keyVaults: [], vaults: [], clusters: [], port: 0 }) });
    const lines: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      lines.push(String(chunk));
      return true;
    });

    const host = await main(app);
    try {
      const res = await notify(host, freshEvents('eventgrid/keyvault-secret-new-version.eventgrid.json'));

      expect(res.status).toBe(200);
      expect(lines.some((l) => l.includes('nothing to do'))).toBe(true);
      expect(lines.some((l) => l.includes('rotor host listening'))).toBe(true);
      expect(app.ignored).toHaveLength(1);
      // At start the host takes over verified rotations a stopped host left unsettled.
      expect(app.resumed).toBe(1);
    } finally {
      await host.close();
    }
  });
});
