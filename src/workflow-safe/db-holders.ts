// How a process holding atlas.db open is named, in the procedure's details, `atlas-ops list`,
// alerts and the DbHeld failure alike. Pure, so workflow code can import it.

export interface FileHolder {
  pid: number;
  command: string;
  /** The owner's user name (its uid when /etc/passwd does not name it). */
  user: string;
  files: string[];
}

/** `pid 4242 (node writer.js, user atlas)`, for each holder, joined. */
export function describeHolders(holders: readonly FileHolder[]): string {
  return holders.map((h) => `pid ${h.pid} (${h.command || '?'}, user ${h.user})`).join('; ');
}
