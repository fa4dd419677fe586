// The plain-file-name rule: a name taken from input (a backup, a restore target) stays inside its
// folder, and a suffix atlas-ops appends to a file name (`atlas.db.<suffix>`) cannot move it
// elsewhere. Workflows check it at once, before anything happens; activities and the CLI check
// it again where they resolve the path (src/paths.ts insideDir).

/** Letters, digits and . _ - only: no path separator, no space, no NUL. */
const PLAIN = /^[A-Za-z0-9._-]+$/;

/** A file name that stays in its folder: plain characters, starting with a letter or digit, no "..". */
export function isPlainFileName(name: string): boolean {
  return PLAIN.test(name) && /^[A-Za-z0-9]/.test(name) && !name.includes('..');
}

/** A suffix appended to a file name: plain characters only. */
export function isPlainSuffix(suffix: string): boolean {
  return PLAIN.test(suffix);
}

/** `text` as part of a file name: every character the rule refuses becomes "_" (a workflow id in a report's name). */
export function plainFileNamePart(text: string): string {
  return text.replace(/[^A-Za-z0-9._-]/g, '_');
}
