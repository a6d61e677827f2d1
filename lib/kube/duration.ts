/**
 * Go `time.ParseDuration` syntax, as ESO's `refreshInterval` and VSO's `refreshAfter` use
 * it ("1h0m0s", "90s", "1.5h", "0"). Returns milliseconds, or undefined when the text is
 * not a Go duration, so callers can report the field instead of guessing.
 */
const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  μs: 1e-3,
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
};

const PART = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/y;

export function parseGoDuration(text: string): number | undefined {
  const raw = text.trim();
  if (raw === '0' || raw === '+0' || raw === '-0') return 0;
  const sign = raw.startsWith('-') ? -1 : 1;
  const body = raw.replace(/^[+-]/, '');
  if (body === '') return undefined;
  PART.lastIndex = 0;
  let total = 0;
  let consumed = 0;
  for (;;) {
    const m = PART.exec(body);
    if (!m) break;
    total += Number(m[1]) * (UNIT_MS[m[2] as string] as number);
    consumed = PART.lastIndex;
  }
  if (consumed !== body.length) return undefined;
  return sign * total;
}
