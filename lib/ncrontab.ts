import { CronExpressionParser } from 'cron-parser';
import { ConfigError } from './errors.js';

/**
 * NCRONTAB as the Functions timer trigger reads it: six fields, seconds first, UTC. Shared
 * by the configuration check and the local host's timer, so `rotor config check` refuses
 * exactly the schedules `rotor serve` would.
 */
export function parseNcrontab(schedule: string, from: Date) {
  const problem = ncrontabProblem(schedule);
  if (problem) throw new ConfigError([`rotation.schedule ${problem}`]);
  return CronExpressionParser.parse(schedule.trim().split(/\s+/).join(' '), { currentDate: from, tz: 'UTC' });
}

/** Why `schedule` is not a valid NCRONTAB expression, or undefined when it is. */
export function ncrontabProblem(schedule: string): string | undefined {
  const fields = schedule.trim().split(/\s+/);
  if (fields.length !== 6) {
    return `'${schedule}' must have six NCRONTAB fields: {second} {minute} {hour} {day} {month} {day-of-week}, e.g. '0 0 * * * *' for every hour`;
  }
  try {
    CronExpressionParser.parse(fields.join(' '), { tz: 'UTC' });
    return undefined;
  } catch (error) {
    return `'${schedule}' is not a valid NCRONTAB expression: ${(error as Error).message}`;
  }
}
