// What the CLI writes to a terminal goes through here (docs/operator-contract.md#terminal-output).
// Operator text (--reason, --by, --note, a backup name) comes back in statuses, events, lists and
// errors; printed raw, a typed newline or escape sequence could forge a line ("started: true"),
// clear the screen or move the cursor. So every line is written with each C0 and C1 control
// character, DEL included, shown escaped (`\n`, `\x1b`), and a line is one line. The one thing let
// through is the colour our own `colour` helper adds (src/cli/common.ts: reset, bold, red, green,
// yellow), and only when colour is on (a terminal, NO_COLOR unset). Those codes change colour and
// nothing else; other rendition codes (8: concealed, 5: blink, 7: reverse) could hide or fake text,
// so they are escaped like any control.

const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

// eslint-disable-next-line no-control-regex -- matching control characters is this module's purpose
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;
// eslint-disable-next-line no-control-regex -- exactly the codes `colour` in src/cli/common.ts emits
const SGR = /\u001b\[(?:0|1|31|32|33)m/g;

/** `s` with every control character shown as an escape: `\n`, `\t`, `\x1b`, `\x9b`. */
export function escapeControls(s: string): string {
  return s.replace(CONTROL, (c) => NAMED[c] ?? `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** One line for the terminal: controls escaped, our colour codes kept when `colour` is on. */
export function terminalLine(line: string, colour = false): string {
  if (!colour) return escapeControls(line);
  let out = '';
  let last = 0;
  for (const m of line.matchAll(SGR)) {
    out += escapeControls(line.slice(last, m.index)) + m[0];
    last = m.index + m[0].length;
  }
  return out + escapeControls(line.slice(last));
}

/** Text for the terminal: each element of `text` is one line (a newline inside one is escaped). */
export function terminalText(text: string | readonly string[], colour = false): string {
  return (typeof text === 'string' ? [text] : text).map((l) => terminalLine(l, colour)).join('\n');
}
