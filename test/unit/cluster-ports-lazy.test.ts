import { describe, expect, it } from 'vitest';
import { systemClock } from '../../lib/clock.js';
import { LazyClusterPorts } from '../../lib/cluster-ports-lazy.js';
import { parseConfig } from '../../lib/config.js';
import { createLogger } from '../../lib/telemetry.js';

const rotate = async () => undefined;
const log = createLogger('error', () => undefined);

function portsFor(restart: Record<string, unknown>) {
  return new LazyClusterPorts({
    config: parseConfig({ restart }),
    clock: systemClock,
    log,
    currentVersion: async () => undefined,
  }).withRotation(rotate as never);
}

describe('the lazily loaded cluster ports the App runs on', () => {
  it('follow each restart to its end when restart.followRollouts is on (the default)', () => {
    expect(typeof portsFor({}).follow).toBe('function');
  });

  it('follow nothing when restart.followRollouts is off', () => {
    expect(portsFor({ followRollouts: false }).follow).toBeUndefined();
  });
});
