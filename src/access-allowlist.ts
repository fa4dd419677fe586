// The access review's allowlist (`access.allowlist`, docs/procedures.md#access-review): who is expected to
// reach the system. An entry names one grant the review can see: an ssh key by its fingerprint, or a
// principal the sheet is shared with. The same spelling keys the review's entries, so comparing is equality.

const SSH = /^ssh:SHA256:[A-Za-z0-9+/]{43}$/;
const SHEET = /^sheet:(anyone|[^\s@:]+@[^\s@:]+\.[^\s@:]+|(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,})$/;

export const ALLOWLIST_FORMS = 'ssh:SHA256:<fingerprint as ssh-keygen -lf prints it>, sheet:<email>, sheet:<domain> or sheet:anyone';

/** Parses the configured entries; a bad entry is an error naming it (nothing is reviewed against a guess). */
export function parseAllowlist(raw: unknown, where: string): string[] {
  const list = Array.isArray(raw) ? raw : typeof raw === 'string' ? raw.split(',').map((e) => e.trim()).filter(Boolean) : undefined;
  if (!list) throw new Error(`${where}: ${JSON.stringify(raw)} is not a list of allowlist entries (${ALLOWLIST_FORMS})`);
  for (const entry of list) {
    if (typeof entry !== 'string' || !(SSH.test(entry.trim()) || SHEET.test(entry.trim()))) {
      throw new Error(`${where}: entry ${JSON.stringify(entry)} does not parse (expected ${ALLOWLIST_FORMS})`);
    }
  }
  return list.map((e) => (e as string).trim());
}

export const sshEntry = (fingerprint: string) => `ssh:${fingerprint}`;
/** The sheet's "anyone with the link" is `sheet:anyone`; emails and domains as Drive reports them. */
export const sheetEntry = (p: { type: string; who: string }) => `sheet:${p.type === 'anyone' ? 'anyone' : p.who}`;
