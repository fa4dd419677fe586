// Monthly security audit (security-audit.sh): credentials 0600, nothing in the home open to others
// (docs/safety.md#file-modes), helpers on loopback only, key age against the rotation policy, schedules
// present and unpaused unless a running procedure paused them. Reads modes and names, never keys.
import fs from 'node:fs';
import path from 'node:path';
import { listeningSockets } from '../proc';
import { SCHEDULES, scheduleId } from '../schedules';
import { temporalClient } from '../temporal/sdk';
import { DAY_MS, mdTable, type Report, type ReportContext } from './report';

export interface FileFact {
  path: string;
  kind: 'file' | 'dir';
  mode: string;
  uid: number;
  gid: number;
  worldReadable: boolean;
  /** Others may read, write or enter it: none may, anywhere in the home (docs/safety.md#file-modes). */
  openToOthers: boolean;
}

export function fileFact(file: string): FileFact | undefined {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch {
    return undefined;
  }
  return { path: file, kind: st.isDirectory() ? 'dir' : 'file', mode: (st.mode & 0o777).toString(8).padStart(4, '0'), uid: st.uid, gid: st.gid, worldReadable: (st.mode & 0o004) !== 0, openToOthers: (st.mode & 0o007) !== 0 };
}

/** The files that matter for access: the home and its files, and each folder of the layout with what is in it (one level). */
export function homeFileFacts(ctx: ReportContext): FileFact[] {
  const p = ctx.paths;
  const layout = [p.configDir, p.dataDir, p.backupsDir, p.logsDir, p.reportsDir, p.runDir];
  const out: FileFact[] = [];
  const home = fileFact(p.home);
  if (!home) return out;
  out.push(home);
  const homeFiles = fs.readdirSync(p.home).sort().map((n) => path.join(p.home, n)).filter((f) => !layout.includes(f));
  for (const dir of [...homeFiles, ...layout]) {
    const d = fileFact(dir);
    if (!d) continue;
    out.push(d);
    if (!layout.includes(dir)) continue;
    for (const name of fs.readdirSync(dir).sort()) {
      const f = fileFact(path.join(dir, name));
      if (f) out.push(f);
    }
  }
  return out;
}

export function credentialsFile(ctx: ReportContext): string {
  return ctx.config.sheets.credentials || path.join(ctx.paths.configDir, 'sheets-credentials.json');
}

const isLoopback = (a: string) => a.startsWith('127.') || a === '::1' || a.startsWith('::ffff:127.');
const loopbackHost = (url: string) => {
  try {
    const h = new URL(url).hostname.replace(/^\[|\]$/g, '');
    return h === 'localhost' || h.startsWith('127.') || h === '::1';
  } catch {
    return false;
  }
};
const portOf = (url: string) => {
  const u = new URL(url);
  return Number(u.port || (u.protocol === 'https:' ? 443 : 80));
};

export function lastKeyRotation(ctx: ReportContext, key = 'sheets'): { rotated_at: string; key_id: string | null; workflow_id: string | null } | undefined {
  return ctx.ops.prepare('SELECT rotated_at, key_id, workflow_id FROM key_rotations WHERE key = ? ORDER BY rotated_at DESC LIMIT 1').get(key) as never;
}

export async function securityAudit(ctx: ReportContext): Promise<Report> {
  const findings: string[] = [];
  const checks: { check: string; ok: boolean; detail: string }[] = [];
  const add = (check: string, ok: boolean, detail: string) => {
    checks.push({ check, ok, detail });
    if (!ok) findings.push(`${check}: ${detail}`);
  };

  const cred = credentialsFile(ctx);
  const credFact = fileFact(cred);
  if (credFact) add('credentials mode', credFact.mode === '0600', `${cred} is ${credFact.mode}${credFact.mode === '0600' ? '' : ` (run: chmod 600 ${cred})`}`);
  else checks.push({ check: 'credentials mode', ok: true, detail: `${cred} does not exist (Sheets not configured)` });

  const facts = homeFileFacts(ctx);
  const exposed = facts.filter((f) => f.openToOthers);
  add('home closed to others', exposed.length === 0, exposed.length ? exposed.map((f) => `${f.path} (${f.mode})`).join(', ') + ' (run: chmod o-rwx on them)' : `${facts.length} paths checked`);

  const ports = [
    { what: 'sqlite-web', port: ctx.config.sqliteWeb.port },
    ...(loopbackHost(ctx.config.sheets.rootUrl) ? [{ what: 'Sheets emulator', port: portOf(ctx.config.sheets.rootUrl) }] : []),
    ...(ctx.config.oci.endpoint && loopbackHost(ctx.config.oci.endpoint) ? [{ what: 'OCI emulator', port: portOf(ctx.config.oci.endpoint) }] : []),
  ];
  const sockets = listeningSockets();
  for (const { what, port } of ports) {
    const wide = sockets.filter((s) => s.port === port && !isLoopback(s.address));
    add(`${what} on loopback only`, wide.length === 0, wide.length ? `port ${port} listens on ${wide.map((s) => s.address).join(', ')}: bind it to 127.0.0.1` : `port ${port}: ${sockets.some((s) => s.port === port) ? 'loopback only' : 'not listening'}`);
  }

  const policy = ctx.config.security.keyRotationDays;
  const rotation = lastKeyRotation(ctx);
  const keyDate = rotation ? Date.parse(rotation.rotated_at) : credFact ? fs.statSync(cred).mtimeMs : undefined;
  if (keyDate !== undefined) {
    const age = Math.floor((ctx.now.getTime() - keyDate) / DAY_MS);
    add('Sheets key age', age <= policy, `${age} days since ${rotation ? `the last recorded rotation (${rotation.rotated_at.slice(0, 10)})` : 'the credentials file was written (no rotation recorded)'}; policy ${policy} days${age > policy ? ': run `atlas-ops key-rotation start`' : ''}`);
  } else {
    checks.push({ check: 'Sheets key age', ok: true, detail: 'no key installed' });
  }

  if (ctx.client) {
    for (const def of SCHEDULES) {
      if (ctx.config.schedules[def.setting].kind === 'off') continue;
      const id = scheduleId(ctx.config, def.name);
      // Not created on purpose (schedules apply says why): not a finding, but said.
      const unusable = def.unusable?.(ctx.config);
      if (unusable) {
        checks.push({ check: `schedule ${id}`, ok: true, detail: `not applied: ${unusable}` });
        continue;
      }
      try {
        const d = await ctx.client.schedule.getHandle(id).describe();
        if (!d.state.paused) {
          checks.push({ check: `schedule ${id}`, ok: true, detail: 'running' });
          continue;
        }
        const by = /^paused by \S+ (\S+)$/.exec(d.state.note ?? '')?.[1];
        let holderRunning = false;
        if (by) holderRunning = await ctx.client.workflow.getHandle(by).describe().then((w) => w.status.name === 'RUNNING', () => false);
        add(`schedule ${id}`, holderRunning, holderRunning ? `paused by running procedure ${by}` : `paused (${d.state.note || 'no note'}) and no running procedure holds it: unpause with atlas-ops schedules`);
      } catch (err) {
        if (!(err instanceof temporalClient().ScheduleNotFoundError)) throw err;
        add(`schedule ${id}`, false, `missing: run \`atlas-ops schedules apply\` (workflow ${def.workflowType})`);
      }
    }
  } else {
    checks.push({ check: 'schedules', ok: true, detail: 'not checked (no Temporal client)' });
  }

  return {
    name: 'security',
    title: 'Security audit',
    generatedAt: ctx.now.toISOString(),
    summary: findings.length ? `${findings.length} finding${findings.length === 1 ? '' : 's'} in ${checks.length} checks` : `all ${checks.length} checks passed`,
    findings,
    data: { checks, keyRotationPolicyDays: policy, lastRotation: rotation ?? null },
    markdown: mdTable(['check', 'ok', 'detail'], checks.map((c) => [c.check, c.ok ? 'yes' : 'NO', c.detail])),
    charts: [],
  };
}
