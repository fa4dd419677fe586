// The modes of what atlas-ops creates (docs/safety.md#file-modes): files 0640, folders 0750, secrets
// and pid records 0600, whatever umask the operator's shell or service manager left. Every entry
// point (the CLI, and so the worker and `atlas-ops dev`; the OCI emulator's own main) sets the
// umask first; the processes atlas-ops starts (the Temporal dev server, sqlite-web) inherit it.
import fs from 'node:fs';

export const OWN_UMASK = 0o027;

export const MODE = { file: 0o640, dir: 0o750, secret: 0o600 } as const;

/** Bits no file or folder of the home may have: write for the group, anything for others. */
export const LOOSE_BITS = 0o027;

export function useOwnUmask(): void {
  process.umask(OWN_UMASK);
}

/**
 * Removes the loose bits from a path this user owns; true when its mode changed. Another owner's
 * file is left as it is (chmod would fail): `report security` names it.
 */
export function tightenMode(file: string): boolean {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(file);
  } catch {
    return false;
  }
  if (st.isSymbolicLink() || (st.mode & LOOSE_BITS) === 0 || (process.getuid && st.uid !== process.getuid())) return false;
  fs.chmodSync(file, st.mode & 0o7777 & ~LOOSE_BITS);
  return true;
}
