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

/**
 * The files a running worker and the Atlas app hold open: atlas.db, ops.db and their sidecars. A
 * restore *test* writing into one of them would swap it under its open handles (the worker goes
 * on writing into the renamed old file), so they are never a restore target; atlas.db is replaced
 * only by the real restore, which names no target (docs/safety.md#restore-discipline).
 */
const LIVE_DATABASES = ['atlas.db', 'ops.db'];
const SIDECARS = ['', '-wal', '-shm', '-journal'];

/** Why `name` cannot be a restore target, or undefined when it can. */
export function restoreTargetProblem(name: string): string | undefined {
  if (!isPlainFileName(name)) return `"${name}" must be a plain file name (no "/", no "..")`;
  const live = LIVE_DATABASES.find((db) => SIDECARS.some((s) => name === `${db}${s}`));
  if (live) return `"${name}" is a live database file (${LIVE_DATABASES.join(', ')} and their -wal/-shm/-journal are never a restore target; restore atlas.db without a target)`;
  return undefined;
}
