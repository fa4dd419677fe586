// Access review (monthly, `atlas-ops report access`): who can reach what — the sheet's sharing
// (Drive API, when the credentials allow), ssh authorized_keys fingerprints, owners and modes of files.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { credentialsFile, homeFileFacts } from './security';
import { mdTable, type Report, type ReportContext } from './report';

export interface AuthorizedKey {
  file: string;
  type: string;
  fingerprint: string;
  comment: string;
}

/** Every authorized_keys file of root and the users under /home (or the ones given). */
export function authorizedKeysFiles(): string[] {
  const files = ['/root/.ssh/authorized_keys'];
  try {
    for (const user of fs.readdirSync('/home')) files.push(path.join('/home', user, '.ssh', 'authorized_keys'));
  } catch {
    /* no /home */
  }
  return files.filter((f) => fs.existsSync(f));
}

/** SHA256 fingerprints as `ssh-keygen -lf` prints them; the keys themselves are not copied. */
export function readAuthorizedKeys(file: string): AuthorizedKey[] {
  const out: AuthorizedKey[] = [];
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const m = /(?:^|\s)((?:ssh|ecdsa|sk)-[\w@.-]+)\s+([A-Za-z0-9+/=]+)\s*(.*)$/.exec(line.trim());
    if (!m || line.trim().startsWith('#')) continue;
    const digest = crypto.createHash('sha256').update(Buffer.from(m[2]!, 'base64')).digest('base64').replace(/=+$/, '');
    out.push({ file, type: m[1]!, fingerprint: `SHA256:${digest}`, comment: m[3] ?? '' });
  }
  return out;
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

async function sheetSharing(ctx: ReportContext): Promise<{ available: boolean; note: string; permissions: { role: string; type: string; who: string }[] }> {
  const { rootUrl, spreadsheetId } = ctx.config.sheets;
  const host = new URL(rootUrl).hostname;
  if (host === 'localhost' || host.startsWith('127.') || host === '[::1]') return { available: false, note: 'the Sheets endpoint is a local emulator: no Drive sharing to read', permissions: [] };
  const cred = credentialsFile(ctx);
  if (!spreadsheetId || !fs.existsSync(cred)) return { available: false, note: 'no spreadsheet id or credentials configured', permissions: [] };
  try {
    const { google } = await import('googleapis');
    const auth = new google.auth.GoogleAuth({ keyFile: cred, scopes: ['https://www.googleapis.com/auth/drive.metadata.readonly'] });
    const drive = google.drive({ version: 'v3', auth });
    const res = await drive.permissions.list({ fileId: spreadsheetId, fields: 'permissions(role,type,emailAddress,domain)', supportsAllDrives: true });
    const permissions = (res.data.permissions ?? []).map((p) => ({ role: p.role ?? '?', type: p.type ?? '?', who: p.emailAddress ?? p.domain ?? (p.type === 'anyone' ? 'anyone with the link' : '?') }));
    return { available: true, note: `${permissions.length} permissions`, permissions };
  } catch (err) {
    return { available: false, note: `the credentials do not allow reading the sharing (${(err as Error).message.slice(0, 200)}): check it in Google Drive`, permissions: [] };
  }
}

export async function accessReview(ctx: ReportContext & { authorizedKeys?: string[] }): Promise<Report> {
  const sharing = await sheetSharing(ctx);
  const keys = (ctx.authorizedKeys ?? authorizedKeysFiles()).flatMap((f) => (fs.existsSync(f) ? readAuthorizedKeys(f) : []));
  const names = passwdNames();
  const files = homeFileFacts(ctx).map((f) => ({ ...f, owner: names.get(f.uid) ?? String(f.uid) }));
  const findings = [
    ...sharing.permissions.filter((p) => p.type === 'anyone').map((p) => `the sheet is shared with ${p.who} (${p.role})`),
    ...files.filter((f) => f.worldReadable && f.kind === 'file').map((f) => `${f.path} is world-readable (${f.mode})`),
  ];
  return {
    name: 'access',
    title: 'Access review',
    generatedAt: ctx.now.toISOString(),
    summary: `${sharing.available ? `${sharing.permissions.length} sheet permissions` : 'sheet sharing not read'}, ${keys.length} ssh keys, ${files.length} paths reviewed${findings.length ? `, ${findings.length} findings` : ''}`,
    findings,
    data: { sheet: sharing, sshKeys: keys, files, credentials: credentialsFile(ctx) },
    markdown: [
      '## Google Sheet sharing', '', sharing.available ? mdTable(['who', 'type', 'role'], sharing.permissions.map((p) => [p.who, p.type, p.role])).join('\n') : sharing.note, '',
      '## SSH authorized keys', '', ...mdTable(['file', 'type', 'fingerprint', 'comment'], keys.map((k) => [k.file, k.type, k.fingerprint, k.comment])), '',
      '## Files', '', ...mdTable(['path', 'owner', 'mode'], files.map((f) => [f.path, f.owner, f.mode])), '',
      'Also review by hand: OCI Console users and policies for this tenancy.',
    ],
    charts: [],
  };
}
