// File-name-safe UTC stamps (YYYYMMDD-HHMMSS) from workflow time, for suffixes and display names.
export function stamp(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
}
