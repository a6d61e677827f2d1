import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../lib/errors.js';
import { parseNcrontab, runOnSchedule } from '../../../lib/host/timer.js';
import { createLogger } from '../../../lib/telemetry.js';

const lines: string[] = [];
const log = createLogger('debug', (line) => lines.push(line));

describe('local host timer (NCRONTAB)', () => {
  it('reads six-field NCRONTAB with seconds first, in UTC', () => {
    const next = parseNcrontab('0 30 9 * * 1-5', new Date('2024-06-01T00:00:00Z')).next().toDate();

    expect(next.toISOString()).toBe('2024-06-03T09:30:00.000Z');
  });

  it.each([
    ['five fields (plain cron)', '*/5 * * * *'],
    ['garbage', 'every hour'],
    ['an out-of-range field', '0 61 * * * *'],
  ])('refuses %s as a configuration error', (_name, schedule) => {
    expect(() => parseNcrontab(schedule, new Date())).toThrow(ConfigError);
  });

  it('runs at each occurrence and stops when told', async () => {
    const ticks: boolean[] = [];
    const runner = runOnSchedule('* * * * * *', async (timer) => void ticks.push(timer.isPastDue), log);

    await new Promise((r) => setTimeout(r, 2_300));
    runner.stop();
    const seen = ticks.length;
    await new Promise((r) => setTimeout(r, 1_200));

    expect(seen).toBeGreaterThanOrEqual(2);
    expect(ticks.length).toBe(seen);
    expect(ticks.every((late) => late === false)).toBe(true);
  });

  it('skips an occurrence while the previous run is still going', async () => {
    let running = 0;
    let maxConcurrent = 0;
    const runner = runOnSchedule(
      '* * * * * *',
      async () => {
        running++;
        maxConcurrent = Math.max(maxConcurrent, running);
        await new Promise((r) => setTimeout(r, 1_500));
        running--;
      },
      log,
    );

    await new Promise((r) => setTimeout(r, 3_200));
    runner.stop();

    expect(maxConcurrent).toBe(1);
    expect(lines.some((l) => l.includes('timer occurrence skipped'))).toBe(true);
  });
});
