// Checks of the modes atlas-ops promises (docs/safety.md#file-modes), shared by the tests of a fresh home.
import fs from 'node:fs';
import path from 'node:path';

/** Every path under `dir` whose mode allows more than a file 0640 / a folder 0750 (or, for secrets, 0600). */
export function looserThanAllowed(dir: string, secrets: (file: string) => boolean = () => false): string[] {
  const out: string[] = [];
  const visit = (p: string) => {
    let st: fs.Stats;
    try {
      st = fs.lstatSync(p);
    } catch {
      return; // a live home: a temporary file gone meanwhile
    }
    const mode = st.mode & 0o777;
    const allowed = st.isDirectory() ? 0o750 : secrets(p) ? 0o600 : 0o640;
    if (mode & ~allowed) out.push(`${path.relative(dir, p) || '.'} ${mode.toString(8)}`);
    if (st.isDirectory()) for (const n of fs.readdirSync(p)) visit(path.join(p, n));
  };
  visit(dir);
  return out;
}
