// Access review (monthly, `atlas-ops report access`): who can reach what — the sheet's sharing
// (Drive API, when the credentials allow), ssh authorized_keys fingerprints, owners and modes of files.
import fs from 'node:fs';
import path from 'node:path';
import { sheetEntry, sshEntry } from '../access-allowlist';
import { credentialsFile, homeFileFacts } from './security';
import { mdTable, type Report, type ReportContext } from './report';
import { driveModule } from '../google-apis';
import { keySourceName, readKeySource, type AuthorizedKey, type KeySource } from '../ssh-keys';

/** A key the review found, with the source that lets it in. */
export interface ReviewedKey extends AuthorizedKey {
  file: string;
}

function passwdNames(): Map<number, string> {
  const names = new Map<number, string>();
  try {
    for (const line of fs.readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const [name, , uid] = line.split(':');
      if (name && uid) names.set(Number(uid), name);
    }
  } catch {
    /* not Unix */
  }
  return names;
}

interface SheetSharing {
  available: boolean;
  note: string;
  permissions: { role: string; type: string; who: string }[];
  /** Set when the sharing is configured to be read but could not be: a finding, not a quiet note. */
  unreadable?: string;
}

async function sheetSharing(ctx: ReportContext): Promise<SheetSharing> {
  const { rootUrl, spreadsheetId } = ctx.config.sheets;
  const host = new URL(rootUrl).hostname;
  if (host === 'localhost' || host.startsWith('127.') || host === '[::1]') return { available: false, note: 'the Sheets endpoint is a local emulator: no Drive sharing to read', permissions: [] };
  const cred = credentialsFile(ctx);
  if (!spreadsheetId || !fs.existsSync(cred)) return { available: false, note: 'no spreadsheet id or credentials configured', permissions: [] };
  try {
    const { auth: googleAuth, drive: driveApi } = driveModule();
    const auth = new googleAuth.GoogleAuth({ keyFile: cred, scopes: ['https://www.googleapis.com/auth/drive.metadata.readonly'] });
    const drive = driveApi({ version: 'v3', auth });
    const res = await drive.permissions.list({ fileId: spreadsheetId, fields: 'permissions(role,type,emailAddress,domain)', supportsAllDrives: true });
    const permissions = (res.data.permissions ?? []).map((p) => ({ role: p.role ?? '?', type: p.type ?? '?', who: p.emailAddress ?? p.domain ?? (p.type === 'anyone' ? 'anyone with the link' : '?') }));
    return { available: true, note: `${permissions.length} permissions`, permissions };
  } catch (err) {
    const reason = (err as Error).message.slice(0, 200);
    return { available: false, note: `the credentials do not allow reading the sharing (${reason}): check it in Google Drive`, permissions: [], unreadable: reason };
  }
}

/** The entries of the newest review before this one (`<reportsDir>/access-*.json`), or why it cannot be read. */
function previousReview(ctx: ReportContext): { file?: string; entries?: string[]; unreadable?: string } {
  let names: string[];
  try {
    names = fs.readdirSync(ctx.paths.reportsDir).filter((n) => /^access-.*\.json$/.test(n));
  } catch {
    return {}; // no reports yet: the first review
  }
  let newest: { file: string; at: number; entries: string[] } | undefined;
  for (const name of names) {
    const file = path.join(ctx.paths.reportsDir, name);
    try {
      const json = JSON.parse(fs.readFileSync(file, 'utf8')) as { generatedAt: string; data: { entries?: unknown } };
      const at = Date.parse(json.generatedAt);
      if (!Array.isArray(json.data.entries) || Number.isNaN(at)) throw new Error('no generatedAt or data.entries');
      if (at < ctx.now.getTime() && (!newest || at > newest.at)) newest = { file, at, entries: json.data.entries.map(String) };
    } catch (err) {
      return { file, unreadable: (err as Error).message.slice(0, 200) };
    }
  }
  return newest ? { file: newest.file, entries: newest.entries } : {};
}

/** Every key of the configured sources; a source that cannot be read is named with the reason. */
function readKeySources(sources: KeySource[]): { keys: ReviewedKey[]; unreadable: { file: string; reason: string }[] } {
  const keys: ReviewedKey[] = [];
  const unreadable: { file: string; reason: string }[] = [];
  for (const source of sources) {
    const read = readKeySource(source);
    if ('unreadable' in read) unreadable.push({ file: source.file, reason: read.unreadable });
    else keys.push(...read.keys.map((k) => ({ file: source.file, ...k })));
  }
  return { keys, unreadable };
}

/**
 * Who can reach what, compared with the previous review (docs/procedures.md#access-review): an entry that is
 * new since then and not in `access.allowlist`, or a source that cannot be read, is a finding; a review that
 * finds what the previous one found has no new finding.
 */
export async function accessReview(ctx: ReportContext): Promise<Report> {
  const sharing = await sheetSharing(ctx);
  // Configured by path (access.sshKeySources, which key rotation checks too), never guessed from /root and /home: the deployed worker sees neither.
  const sources = ctx.config.access.sshKeySources;
  const { keys, unreadable } = readKeySources(sources);
  const names = passwdNames();
  const files = homeFileFacts(ctx).map((f) => ({ ...f, owner: names.get(f.uid) ?? String(f.uid) }));
  const entries = [...new Set([...keys.map((k) => sshEntry(k.fingerprint)), ...sharing.permissions.map(sheetEntry)])].sort();
  const previous = previousReview(ctx);
  const allowed = new Set(ctx.config.access.allowlist);
  const before = new Set(previous.entries ?? []);
  const added = entries.filter((e) => !before.has(e));
  const removed = (previous.entries ?? []).filter((e) => !entries.includes(e));
  const findings = [
    ...added.filter((e) => !allowed.has(e)).map((e) => `new access not in access.allowlist: ${e}${describeEntry(e, keys, sharing)}`),
    ...unreadable.map((u) => `${u.file} cannot be read (${u.reason}): its keys were not reviewed`),
    ...(sharing.unreadable ? [`the sheet's sharing cannot be read (${sharing.unreadable})`] : []),
    ...(previous.unreadable ? [`the previous review ${previous.file} cannot be read (${previous.unreadable}): every entry is compared as new`] : []),
    ...sharing.permissions.filter((p) => p.type === 'anyone').map((p) => `the sheet is shared with ${p.who} (${p.role})`),
    ...files.filter((f) => f.worldReadable && f.kind === 'file').map((f) => `${f.path} is world-readable (${f.mode})`),
  ];
  return {
    name: 'access',
    title: 'Access review',
    generatedAt: ctx.now.toISOString(),
    summary: `${sharing.available ? `${sharing.permissions.length} sheet permissions` : 'sheet sharing not read'}, ${sources.length ? `${keys.length} ssh keys` : 'ssh keys not reviewed (access.sshKeySources is empty)'}, ${files.length} paths reviewed, ${added.length} new and ${removed.length} removed since ${previous.file ? 'the previous review' : 'no previous review'}${findings.length ? `, ${findings.length} findings` : ''}`,
    findings,
    data: { entries, added, removed, previous: previous.file ?? null, unreadable, sheet: sharing, sshKeys: keys, files, credentials: credentialsFile(ctx) },
    markdown: [
      '## Changes since the previous review', '', previous.file ? `Compared with ${path.basename(previous.file)}.` : 'No previous review: every entry is new.', '',
      ...mdTable(['change', 'entry', 'in access.allowlist'], [...added.map((e) => ['added', e, allowed.has(e) ? 'yes' : 'no']), ...removed.map((e) => ['removed', e, allowed.has(e) ? 'yes' : 'no'])]), '',
      '## Google Sheet sharing', '', sharing.available ? mdTable(['who', 'type', 'role'], sharing.permissions.map((p) => [p.who, p.type, p.role])).join('\n') : sharing.note, '',
      '## SSH authorized keys', '', sources.length ? `Read from ${sources.map(keySourceName).join(', ')} (access.sshKeySources).` : 'Not reviewed: access.sshKeySources lists no authorized_keys file.', '', ...mdTable(['file', 'type', 'fingerprint', 'comment'], keys.map((k) => [k.file, k.type, k.fingerprint, k.comment])), '',
      '## Files', '', ...mdTable(['path', 'owner', 'mode'], files.map((f) => [f.path, f.owner, f.mode])), '',
      'Also review by hand: OCI Console users and policies for this tenancy.',
    ],
    charts: [],
  };
}

/** " (ssh-ed25519 ops@host in /home/x/.ssh/authorized_keys)" or " (writer)": enough to find the grant. */
function describeEntry(entry: string, keys: ReviewedKey[], sharing: SheetSharing): string {
  const key = keys.find((k) => sshEntry(k.fingerprint) === entry);
  if (key) return ` (${key.type}${key.comment ? ` ${key.comment}` : ''} in ${key.file})`;
  const grant = sharing.permissions.find((p) => sheetEntry(p) === entry);
  return grant ? ` (${grant.role})` : '';
}
