import { randomInt } from 'node:crypto';

/** The seed of a chaos test: ROTOR_CHAOS_SEED replays a run, otherwise a new one each time (printed). */
export function chaosSeed(): number {
  const given = process.env.ROTOR_CHAOS_SEED;
  return given ? Number(given) : randomInt(2 ** 31);
}
