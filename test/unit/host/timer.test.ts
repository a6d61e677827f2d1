import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../lib/errors.js';
import { parseNcrontab, runOnSchedule } from '../../../lib/host/timer.js';
import { createLogger } from '../../../lib/telemetry.js';
import { ManualTime } from '../support/manual-time.js';

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
    const time = new ManualTime(Date.parse('2026-11-29T12:00:00.300Z'));
    const ticks: Array<{ at: string; late: boolean; last: string }> = [];
    const runner = runOnSchedule(
      '* * * * * *',
      async (timer) =>
        void ticks.push({
          at: time.now().toISOString(),
          late: timer.isPastDue,
          last: timer.scheduleStatus!.last,
        }),
      log,
      time,
      time,
    );

    await time.advance(2_000);
    runner.stop();
    await time.advance(5_000);

    expect(ticks).toEqual([
      { at: '2026-11-29T12:00:01.000Z', late: false, last: '2026-11-29T12:00:00.300Z' },
      { at: '2026-11-29T12:00:02.000Z', late: false, last: '2026-11-29T12:00:01.000Z' },
    ]);
    expect(time.pending).toBe(0);
  });

  it('skips an occurrence while the previous run is still going', async () => {
    const time = new ManualTime(Date.parse('2026-11-29T12:00:00.000Z'));
    let running = 0;
    let runs = 0;
    let maxConcurrent = 0;
    const runner = runOnSchedule(
      '* * * * * *',
      async () => {
        running++;
        runs++;
        maxConcurrent = Math.max(maxConcurrent, running);
        await new Promise<void>((r) => time.set(r, 1_500));
        running--;
      },
      log,
      time,
      time,
    );

    await time.advance(3_000);
    runner.stop();

    // 12:00:01 runs until 02.5, so 02 is skipped; 03 runs.
    expect(runs).toBe(2);
    expect(maxConcurrent).toBe(1);
    expect(lines.filter((l) => l.includes('timer occurrence skipped'))).toHaveLength(1);
    expect(lines.find((l) => l.includes('timer occurrence skipped'))).toContain('2026-11-29T12:00:02.000Z');
  });
});
