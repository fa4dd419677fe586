// Reports from seeded data with known answers, their SVG charts, the security audit, bad input.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig, type AtlasConfig } from '../src/config';
import { migrateAtlas } from '../src/db/atlas-schema';
import { openOpsDb } from '../src/db/ops-db';
import { takeSnapshot } from '../src/db/snapshot';
import { openDatabase, type Db } from '../src/db/sqlite';
import { ensureHome, tightenOwnModes } from '../src/home';
import type { AtlasPaths } from '../src/paths';
import { runReport, type ReportName } from '../src/reports';
import { accessReview } from '../src/reports/access';
import { securityAudit } from '../src/reports/security';
import { parseSince, writeReport, type ReportContext } from '../src/reports/report';
import { barChart, lineChart } from '../src/reports/svg';
import { allocatePort, listenOnPickedPort } from '../src/ports';
import { runCli } from './helpers/env';

const NOW = new Date('2026-11-02T09:00:00Z');
const DAY = 86_400_000;
const ago = (ms: number) => new Date(NOW.getTime() - ms).toISOString();
const homes: string[] = [];

interface Home {
  home: string;
  paths: AtlasPaths;
  config: AtlasConfig;
  ops: Db;
  ctx: (since?: Date) => ReportContext;
  atlas<T>(fn: (db: Db) => T): T;
}

/** `config` with access.sshKeySources listing `files`: the one list the access review (and key rotation) read. */
const withKeySources = (config: AtlasConfig, files: string[]): AtlasConfig => ({ ...config, access: { ...config.access, sshKeySources: files.map((file) => ({ file })) } });

/** A home with an empty (schema only) atlas.db. */
function emptyHome(): Home {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'atlas-reports-'));
  homes.push(home);
  const { paths } = ensureHome(home);
  const db = openDatabase(paths.atlasDb, { create: true, wal: true });
  migrateAtlas(db);
  db.close();
  const config = loadConfig({ env: { ATLAS_HOME: home } });
  const ops = openOpsDb(paths.opsDb);
  return {
    home, paths, config, ops,
    ctx: (since) => ({ config, paths, ops, now: NOW, since }),
    atlas: (fn) => {
      const d = openDatabase(paths.atlasDb);
      try {
        return fn(d);
      } finally {
        d.close();
      }
    },
  };
}

let h: Home;
beforeEach(() => {
  h = emptyHome();
});
afterAll(() => {
  for (const home of homes) fs.rmSync(home, { recursive: true, force: true });
});

function task(db: Db, id: string, status = 'completed', agent = 'coder') {
  db.prepare('INSERT INTO tasks (id, title, agent, status, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)').run(id, `task ${id}`, agent, status, ago(20 * DAY), ago(20 * DAY));
}

function approval(db: Db, id: string, requestedDaysAgo: number, status = 'pending', agent = 'coder') {
  task(db, `T-${id}`, status === 'pending' ? 'waiting_approval' : 'completed', agent);
  db.prepare('INSERT INTO approvals (id, task_id, summary, requested_at, status) VALUES (?, ?, ?, ?, ?)').run(id, `T-${id}`, `summary ${id}`, ago(requestedDaysAgo * DAY), status);
}

/** Well-formed XML: every tag closed in order, attributes quoted, one root. */
function assertWellFormedSvg(svg: string): void {
  expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
  const stack: string[] = [];
  const tag = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/g;
  let last = 0;
  for (let m = tag.exec(svg); m; m = tag.exec(svg)) {
    expect(svg.slice(last, m.index)).not.toMatch(/[<>]/);
    last = tag.lastIndex;
    if (m[1]) expect(stack.pop()).toBe(m[2]);
    else if (!m[4]) stack.push(m[2]!);
  }
  expect(svg.slice(last).trim()).toBe('');
  expect(stack).toEqual([]);
}

const values = (svg: string, element: string) => [...svg.matchAll(new RegExp(`<${element} [^>]*data-value="([^"]+)"`, 'g'))].map((m) => Number(m[1]));

async function report(name: ReportName, since?: Date) {
  const r = await runReport(name, h.ctx(since));
  expect(fs.existsSync(r.files.markdown) && fs.existsSync(r.files.json)).toBe(true);
  return r;
}

describe('reports from seeded data', () => {
  it('stale approvals: counts those pending over 7 days', async () => {
    h.atlas((db) => {
      approval(db, 'A-1', 10, 'pending', 'coder');
      approval(db, 'A-2', 8, 'pending', 'planner');
      approval(db, 'A-3', 30, 'pending', 'coder');
      approval(db, 'A-4', 2, 'pending');
      approval(db, 'A-5', 6.9, 'pending');
      approval(db, 'A-6', 40, 'approved');
    });
    const r = await report('stale-approvals');
    expect(r.data).toMatchObject({ count: 3, byAgent: { coder: 2, planner: 1 } });
    expect((r.data.oldest as { id: string; ageDays: number }[])[0]).toMatchObject({ id: 'A-3', ageDays: 30 });
    expect(r.summary).toMatch(/^3 approvals pending/);
    expect(fs.readFileSync(r.files.markdown, 'utf8')).toContain('| A-3 | T-A-3 | coder |');
  });

  it('error trends: direction per source, with a bar chart of the plotted counts', async () => {
    h.atlas((db) => {
      const e = db.prepare("INSERT INTO errors (at, source, level, message) VALUES (?, ?, 'error', 'x')");
      for (let i = 0; i < 2; i++) e.run(ago(10 * DAY + i * 3_600_000), 'export');
      for (let i = 0; i < 5; i++) e.run(ago(2 * DAY + i * 3_600_000), 'export');
      for (let i = 0; i < 4; i++) e.run(ago(9 * DAY + i * 3_600_000), 'import');
      e.run(ago(1 * DAY), 'import');
      e.run(ago(3 * DAY), 'agent');
      e.run(ago(12 * DAY), 'agent');
      e.run(ago(30 * DAY), 'agent'); // outside both weeks
    });
    const r = await report('error-trends');
    const by = Object.fromEntries((r.data.bySource as { source: string; previous: number; current: number; direction: string }[]).map((s) => [s.source, s]));
    expect(by.export).toMatchObject({ previous: 2, current: 5, direction: 'rising' });
    expect(by.import).toMatchObject({ previous: 4, current: 1, direction: 'falling' });
    expect(by.agent).toMatchObject({ previous: 1, current: 1, direction: 'flat' });
    expect(r.data).toMatchObject({ total: { previous: 7, current: 7 }, direction: 'flat' });
    expect(r.findings).toEqual(['errors from export rising: 2 → 5']);
    const svg = fs.readFileSync(r.files.charts[0]!, 'utf8');
    assertWellFormedSvg(svg);
    // categories agent, export, import; series previous then current
    expect(values(svg, 'rect')).toEqual([1, 1, 2, 5, 4, 1]);
    expect(svg).toContain('data-category="export" data-series="current" data-value="5"');
  });

  it('capacity: forecasts days until 80 % and 95 % from a linear history, with a chart', async () => {
    const s = h.ops.prepare("INSERT INTO health_samples (at, metric, value) VALUES (?, 'disk_percent', ?)");
    for (let d = 10; d >= 0; d--) s.run(ago(d * DAY), 60 - d); // 50 % ten days ago, +1 %/day, 60 % now
    const r = await report('capacity');
    const until = r.data.until as { target: number; days: number }[];
    expect(r.data.growthPercentPerDay).toBeCloseTo(1, 3);
    expect(until[0]!.target).toBe(80);
    expect(until[0]!.days).toBeCloseTo(20, 0);
    expect(until[1]!.target).toBe(95);
    expect(until[1]!.days).toBeCloseTo(35, 0);
    expect(r.summary).toContain('80 % in 20 days');
    const svg = fs.readFileSync(r.files.charts[0]!, 'utf8');
    assertWellFormedSvg(svg);
    const plotted = values(svg, 'circle');
    // the eleven samples, then the forecast's two ends (now, and the 95 % date)
    expect(plotted.slice(0, 11)).toEqual([50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60]);
    expect(plotted.at(-1)).toBeCloseTo(95, 0);
    expect(values(svg, 'line')).toEqual([80, 95]);
  });

  it('capacity: a history too short to forecast says so instead of a number', async () => {
    const s = h.ops.prepare("INSERT INTO health_samples (at, metric, value) VALUES (?, 'disk_percent', ?)");
    s.run(ago(3_600_000), 40);
    s.run(ago(0), 41);
    const r = await report('capacity');
    expect(r.summary).toMatch(/too little history to forecast: 2 disk samples/);
    expect(r.data).toMatchObject({ forecast: null, samples: 2 });
    expect(r.files.charts).toEqual([]);
    expect(fs.readFileSync(r.files.markdown, 'utf8')).not.toMatch(/% in [\d.]+ days/);
  });

  it('performance: latency percentiles from the samples', async () => {
    const s = h.ops.prepare("INSERT INTO health_samples (at, metric, value) VALUES (?, 'db_response_ms', ?)");
    for (let i = 1; i <= 100; i++) s.run(ago(i * 3_600_000), i);
    const sync = h.ops.prepare("INSERT INTO sync_runs (direction, started_at, finished_at, outcome) VALUES ('import', ?, ?, 'ok')");
    sync.run(ago(DAY), ago(DAY - 2000));
    sync.run(ago(2 * DAY), ago(2 * DAY - 4000));
    const r = await report('performance');
    expect(r.data.databaseMs).toMatchObject({ count: 100, p50: 50, p95: 95, p99: 99, max: 100 });
    expect((r.data.syncMs as Record<string, unknown>).import).toMatchObject({ count: 2, p50: 2000, max: 4000 });
    expect(r.data.visibility).toBe('not read (no Temporal client)');
    assertWellFormedSvg(fs.readFileSync(r.files.charts[0]!, 'utf8'));
  });

  it('backup restore test and DR test: pass on a fresh backup, fail when the live database moved on', async () => {
    h.atlas((db) => {
      for (let i = 0; i < 100; i++) task(db, `T-${i}`);
    });
    const none = await report('backup-restore-test');
    expect(none.summary).toBe('FAILED: no verified backup to restore');
    await takeSnapshot({ source: h.paths.atlasDb, backupsDir: h.paths.backupsDir, reason: 'test', now: NOW });
    const ok = await report('backup-restore-test');
    expect(ok.data).toMatchObject({ ok: true, integrityOk: true });
    expect(ok.findings).toEqual([]);
    const dr = await report('dr-test');
    expect(dr.data).toMatchObject({ ok: true, rowCounts: { tasks: 100 } });
    expect(dr.data.recoveryMs).toEqual(expect.any(Number));
    h.atlas((db) => {
      for (let i = 100; i < 110; i++) task(db, `T-${i}`);
    });
    const moved = await report('backup-restore-test');
    expect(moved.data).toMatchObject({ ok: false });
    expect(moved.findings).toEqual(['tasks: 100 rows in the backup against 110 live (9.1 % > 5 %)']);
  });

  it('every report runs on an empty database and says there is nothing, inventing no value', async () => {
    const none = { count: 0, p50: null, p95: null, p99: null, max: null };
    const expected: [ReportName, RegExp, Record<string, unknown>][] = [
      ['stale-approvals', /^no approval pending since before 2026-10-26$/, { count: 0, byAgent: {}, oldest: [] }],
      ['error-trends', /^errors flat: 0 in the last 7 days against 0 in the 7 days before$/, { direction: 'flat', total: { current: 0, previous: 0 }, bySource: [] }],
      ['errors', /^0 errors since .*, 0 unresolved$/, { total: 0, unresolved: 0, bySourceLevel: [], latestUnresolved: [] }],
      ['capacity', /^too little history to forecast: 0 disk samples/, { forecast: null, samples: 0 }],
      ['performance', /^no database latency samples since/, { databaseMs: none, syncMs: { export: none, import: none }, procedureMs: {} }],
      ['health-summary', /^no health check since 2026-10-26$/, { checks: 0, metrics: [] }],
      ['dr-test', /^FAILED: no verified backup to restore$/, { ok: false, backup: null }],
    ];
    for (const [name, summary, data] of expected) {
      const r = await report(name);
      expect(r.summary, name).toMatch(summary);
      expect(r.data, name).toMatchObject(data);
      // Written as it was returned.
      expect(JSON.parse(fs.readFileSync(r.files.json, 'utf8')), name).toMatchObject({ summary: r.summary, data });
    }
  });
});

describe('security audit and access review', () => {
  it('flags a 0644 credentials file and world-readable backups, and passes once fixed', async () => {
    const cred = path.join(h.paths.configDir, 'sheets-credentials.json');
    fs.writeFileSync(cred, JSON.stringify({ type: 'service_account', client_email: 'x@example.iam.gserviceaccount.com' }));
    fs.chmodSync(cred, 0o644);
    fs.writeFileSync(path.join(h.paths.backupsDir, 'atlas_20261101-020000.db'), 'x');
    fs.chmodSync(path.join(h.paths.backupsDir, 'atlas_20261101-020000.db'), 0o644);
    const bad = await report('security');
    expect(bad.findings).toEqual(expect.arrayContaining([
      expect.stringMatching(new RegExp(`^credentials mode: ${cred} is 0644 \\(run: chmod 600 `)),
      expect.stringMatching(/home closed to others: .*atlas_20261101-020000\.db \(0644\)/),
    ]));
    fs.chmodSync(cred, 0o600);
    // What atlas-ops owns it tightens itself; the home, config/ and atlas.db are the operator's.
    expect(tightenOwnModes(h.paths)).toContain(path.join(h.paths.backupsDir, 'atlas_20261101-020000.db'));
    expect(fs.statSync(path.join(h.paths.backupsDir, 'atlas_20261101-020000.db')).mode & 0o777).toBe(0o640);
    for (const dir of [h.paths.home, h.paths.configDir, h.paths.dataDir]) fs.chmodSync(dir, 0o750);
    for (const f of fs.readdirSync(h.paths.dataDir)) fs.chmodSync(path.join(h.paths.dataDir, f), 0o640);
    const good = await report('security');
    expect(good.findings.filter((f) => /credentials|closed to others/.test(f))).toEqual([]);
  });

  it('flags a helper listening beyond loopback', async () => {
    const wide = net.createServer();
    await listenOnPickedPort(wide, '0.0.0.0');
    const narrow = net.createServer();
    await listenOnPickedPort(narrow);
    try {
      const port = (wide.address() as net.AddressInfo).port;
      const bad = await securityAudit({ ...h.ctx(), config: { ...h.config, sqliteWeb: { port } } });
      expect(bad.findings).toContain(`sqlite-web on loopback only: port ${port} listens on 0.0.0.0: bind it to 127.0.0.1`);
      const ok = await securityAudit({ ...h.ctx(), config: { ...h.config, sqliteWeb: { port: (narrow.address() as net.AddressInfo).port } } });
      expect(ok.findings.some((f) => f.startsWith('sqlite-web'))).toBe(false);
    } finally {
      wide.close();
      narrow.close();
    }
  });

  it('reads the key age from the recorded rotation against the policy', async () => {
    const cred = path.join(h.paths.configDir, 'sheets-credentials.json');
    fs.writeFileSync(cred, '{}', { mode: 0o600 });
    h.ops.prepare("INSERT INTO key_rotations (key, rotated_at) VALUES ('sheets', ?)").run(ago(120 * DAY));
    expect((await report('security')).findings).toEqual(expect.arrayContaining([expect.stringMatching(/^Sheets key age: 120 days since the last recorded rotation .* policy 90 days/)]));
    h.ops.prepare("INSERT INTO key_rotations (key, rotated_at) VALUES ('sheets', ?)").run(ago(10 * DAY));
    expect((await report('security')).findings.some((f) => f.startsWith('Sheets key age'))).toBe(false);
  });

  it('access review: ssh key fingerprints as ssh-keygen prints them, owners and modes', async () => {
    const keyFile = path.join(h.home, 'id_test');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'ops@test', '-f', keyFile]);
    const auth = path.join(h.home, 'authorized_keys');
    fs.writeFileSync(auth, `# comment\n${fs.readFileSync(`${keyFile}.pub`, 'utf8')}`);
    const expected = execFileSync('ssh-keygen', ['-lf', `${keyFile}.pub`], { encoding: 'utf8' }).split(' ')[1];
    const r = await accessReview({ ...h.ctx(), config: withKeySources(h.config, [auth]) });
    expect(r.data.sshKeys).toEqual([{ file: auth, type: 'ssh-ed25519', fingerprint: expected, comment: 'ops@test' }]);
    expect((r.data.sheet as { available: boolean; note: string }).note).toMatch(/no spreadsheet id or credentials/);
    expect((r.data.files as { path: string }[]).map((f) => f.path)).toContain(h.paths.opsDb);
  });

  it('access review: compared with the previous review, a new key outside access.allowlist and an unreadable source are findings; an unchanged review has none', async () => {
    const newKey = (name: string) => {
      const file = path.join(h.home, name);
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `${name}@test`, '-f', file]);
      return { pub: fs.readFileSync(`${file}.pub`, 'utf8'), entry: `ssh:${execFileSync('ssh-keygen', ['-lf', `${file}.pub`], { encoding: 'utf8' }).split(' ')[1]}` };
    };
    const [alice, bob, carol] = [newKey('alice'), newKey('bob'), newKey('carol')];
    const auth = path.join(h.home, 'authorized_keys');
    fs.writeFileSync(auth, alice.pub + bob.pub);
    const config = loadConfig({ env: { ATLAS_HOME: h.home, ATLAS_ACCESS_ALLOWLIST: `${alice.entry}, sheet:ops@example.com` } });
    // One review an hour after the other, each written to the reports dir as the routine does.
    const review = async (hours: number, files: string[]) => {
      const r = await accessReview({ ...h.ctx(), config: withKeySources(config, files), now: new Date(NOW.getTime() + hours * 3_600_000) });
      writeReport(h.paths.reportsDir, r);
      return r;
    };
    const own = (findings: string[]) => findings.filter((f) => !/world-readable/.test(f));

    // First review: every entry is new; alice is allowed, bob is not.
    const first = await review(0, [auth]);
    expect(first.data.previous).toBeNull();
    expect(own(first.findings)).toEqual([`new access not in access.allowlist: ${bob.entry} (ssh-ed25519 bob@test in ${auth})`]);

    // Nothing changed: no finding, nothing added or removed, the previous review named.
    const same = await review(1, [auth]);
    expect(own(same.findings)).toEqual([]);
    expect(same.data).toMatchObject({ added: [], removed: [], previous: expect.stringMatching(/access-.*\.json$/) });

    // carol's key appears and bob's goes; a source is a directory (cannot be read, even as root).
    fs.writeFileSync(auth, alice.pub + carol.pub);
    const unreadable = path.join(h.home, 'authorized_keys.d');
    fs.mkdirSync(unreadable);
    const changed = await review(2, [auth, unreadable]);
    expect(own(changed.findings)).toEqual([
      `new access not in access.allowlist: ${carol.entry} (ssh-ed25519 carol@test in ${auth})`,
      `${unreadable} cannot be read (EISDIR): its keys were not reviewed`,
    ]);
    expect(changed.data).toMatchObject({ added: [carol.entry], removed: [bob.entry] });

    // Once carol is on the allowlist and the source readable again, the next review is clean.
    const allowed = { ...config, access: { ...config.access, allowlist: [...config.access.allowlist, carol.entry] } };
    const after = await accessReview({ ...h.ctx(), config: withKeySources(allowed, [auth]), now: new Date(NOW.getTime() + 3 * 3_600_000) });
    expect(own(after.findings)).toEqual([]);

    // A previous review that cannot be parsed is itself a finding, not a silent fresh start.
    fs.writeFileSync(path.join(h.paths.reportsDir, 'access-99990101T000000Z.json'), '{ not json');
    const broken = await accessReview({ ...h.ctx(), config: withKeySources(config, [auth]), now: new Date(NOW.getTime() + 4 * 3_600_000) });
    expect(own(broken.findings)).toEqual(expect.arrayContaining([expect.stringMatching(/^the previous review .*access-99990101T000000Z\.json cannot be read/)]));
  });

});

describe('charts', () => {
  it('line and bar charts are well-formed SVG carrying the plotted values', () => {
    const line = lineChart({ title: 'a <b> & "c"', unit: '%', series: [{ name: 's&1', points: [{ x: 0, y: 1.5 }, { x: DAY, y: 2.25 }] }], lines: [{ label: 'max', y: 3 }] });
    assertWellFormedSvg(line);
    expect(values(line, 'circle')).toEqual([1.5, 2.25]);
    expect(line).toContain('<title>a &lt;b&gt; &amp; &quot;c&quot;</title>');
    const bar = barChart({ title: 'b', categories: ['x', 'y'], series: [{ name: 'n', values: [3, 0] }] });
    assertWellFormedSvg(bar);
    expect(values(bar, 'rect')).toEqual([3, 0]);
    assertWellFormedSvg(lineChart({ title: 'empty', series: [] }));
  });
});

describe('bad input', () => {
  it.each([
    ['a fingerprint in another hash', 'ssh:MD5:aa:bb:cc'],
    ['a truncated fingerprint', 'ssh:SHA256:abc'],
    ['no kind', 'ops@example.com'],
    ['an unknown kind', 'oci:ocid1.user.oc1..x'],
    ['a sheet principal that is neither an email nor a domain', 'sheet:ops team'],
  ])('access.allowlist: an entry that does not parse (%s) is an error naming it; report access exits 2 and writes nothing', async (_what, entry) => {
    expect(() => loadConfig({ env: { ATLAS_HOME: h.home, ATLAS_ACCESS_ALLOWLIST: `sheet:ops@example.com, ${entry}` } })).toThrow(`access.allowlist (from ATLAS_ACCESS_ALLOWLIST): entry "${entry}" does not parse`);
    fs.writeFileSync(path.join(h.paths.configDir, 'atlas-ops.json'), JSON.stringify({ access: { allowlist: ['sheet:example.com', entry] } }));
    const before = fs.readdirSync(h.home, { recursive: true }).sort();
    const res = await runCli(undefined, ['report', 'access'], { ATLAS_HOME: h.home });
    expect(res.code).toBe(2);
    expect(res.stderr).toContain(`access.allowlist (from ${path.join(h.paths.configDir, 'atlas-ops.json')}): entry "${entry}" does not parse`);
    expect(fs.readdirSync(h.home, { recursive: true }).sort()).toEqual(before);
  });

  it('access.allowlist: the forms that parse, from the environment and the file; empty by default', () => {
    const fp = 'ssh:SHA256:' + 'A'.repeat(43);
    expect(loadConfig({ env: { ATLAS_HOME: h.home, ATLAS_ACCESS_ALLOWLIST: ` ${fp}, sheet:ops@example.com,sheet:example.com , sheet:anyone` } }).access.allowlist).toEqual([fp, 'sheet:ops@example.com', 'sheet:example.com', 'sheet:anyone']);
    expect(loadConfig({ env: { ATLAS_HOME: h.home } }).access.allowlist).toEqual([]);
  });

  it('--since names the value that does not parse', () => {
    expect(() => parseSince('last tuesday', NOW)).toThrow('--since: "last tuesday" is neither a duration (e.g. 7d, 12h) nor a date (YYYY-MM-DD)');
    expect(() => parseSince('2027-01-01', NOW)).toThrow('--since: "2027-01-01" is in the future');
    expect(parseSince('7d', NOW).toISOString()).toBe(ago(7 * DAY));
    expect(parseSince('2026-11-01', NOW).toISOString()).toBe('2026-11-01T00:00:00.000Z');
  });

  it('the CLI: unknown report, bad --since, missing database → exit 2 with the reason; a good one writes files', async () => {
    const env = { ATLAS_HOME: h.home };
    const unknown = await runCli(undefined, ['report', 'uptime'], env);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('report: "uptime" is not a report (one of stale-approvals');
    const since = await runCli(undefined, ['report', 'errors', '--since', '3 weeks'], env);
    expect(since.code).toBe(2);
    expect(since.stderr).toContain('--since: "3 weeks" is neither a duration');
    const good = await runCli(undefined, ['--json', 'report', 'stale-approvals', '--since', '2026-10-01'], env);
    expect(good.code).toBe(0);
    const out = JSON.parse(good.stdout);
    expect(fs.existsSync(out.files.markdown)).toBe(true);
    // Temporal down: the audit still runs, and says which part it could not check.
    const audit = await runCli(undefined, ['--json', 'report', 'security'], { ...env, TEMPORAL_ADDRESS: `127.0.0.1:${await allocatePort()}` });
    expect(audit.stderr).toContain('the security report goes on without the Temporal parts');
    expect(JSON.parse(audit.stdout).data.checks).toEqual(expect.arrayContaining([{ check: 'schedules', ok: true, detail: 'not checked (no Temporal client)' }]));
    fs.rmSync(h.paths.atlasDb);
    const missing = await runCli(undefined, ['report', 'stale-approvals'], env);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(`cannot open ${h.paths.atlasDb}`);
  });
});
