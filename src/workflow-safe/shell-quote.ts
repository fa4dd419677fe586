// A value inside a command atlas-ops suggests ("run: atlas-ops maintenance resume <id>"): workflow
// ids and names can be chosen in the Web UI and hold spaces, quotes or `;`, so the suggestion is
// quoted for a POSIX shell and does exactly what it says when pasted. Pure: workflows use it too.

const SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;

export function shellQuote(value: string): string {
  return SAFE.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}
