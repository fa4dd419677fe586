// Durations as operators type them: "90s", "5m", "1h30m", "2d", "250ms". One parser for the CLI,
// the configuration and the schedules, so "5m" means the same everywhere.

const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/gy;

export class DurationError extends Error {
  override name = 'DurationError';
}

/** Parses a duration to milliseconds. `field` names the option or setting in the error. */
export function parseDuration(text: string, field = 'duration'): number {
  const value = String(text).trim();
  if (!value) throw new DurationError(`${field}: empty duration (expected e.g. 30s, 5m, 1h30m)`);
  let total = 0;
  let consumed = 0;
  PART.lastIndex = 0;
  for (let match = PART.exec(value); match; match = PART.exec(value)) {
    total += Number(match[1]) * UNIT_MS[match[2]!]!;
    consumed = PART.lastIndex;
  }
  if (consumed !== value.length || total <= 0) {
    throw new DurationError(`${field}: "${value}" is not a duration (expected e.g. 30s, 5m, 1h30m, 2d)`);
  }
  return Math.round(total);
}

/** The shortest exact rendering of a millisecond count: 5400000 → "1h30m". */
export function formatDuration(ms: number): string {
  if (ms <= 0) return '0s';
  let rest = Math.round(ms);
  const parts: string[] = [];
  for (const unit of ['d', 'h', 'm', 's', 'ms'] as const) {
    const size = UNIT_MS[unit]!;
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  return parts.join('');
}
