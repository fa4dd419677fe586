// Alerts: dedupe, resolution, the webhook (a local HTTP receiver, also a failing one), the digests.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Alerts, retryingSink, webhookSink } from '../src/alerts';
import { ConfigError, loadConfig } from '../src/config';
import { openOpsDb } from '../src/db/ops-db';
import type { Db } from '../src/db/sqlite';
import { receiver } from './helpers/webhook';

let dir: string;
let db: Db;
let clock: Date;
const now = () => clock;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'atlas-alerts-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
afterEach(() => db?.close());

function fresh(): { db: Db; log: string } {
  const file = path.join(dir, `ops-${Math.random().toString(36).slice(2)}.db`);
  db = openOpsDb(file);
  clock = new Date('2026-11-02T09:00:00Z');
  return { db, log: path.join(dir, 'alerts.log') };
}

const noSleep = { sleep: async () => undefined };

describe('alerts', () => {
  it('a threshold crossed both ways is one alert and one resolution, and the webhook hears both', async () => {
    const hook = await receiver();
    try {
      const { db, log } = fresh();
      const alerts = new Alerts(db, log, webhookSink(hook.url), now);
      const a = await alerts.raise({ code: 'health:disk_percent', level: 'critical', message: 'Disk usage: 96 %' });
      const b = await alerts.raise({ code: 'health:disk_percent', level: 'critical', message: 'Disk usage: 97 %' });
      expect(a).toMatchObject({ isNew: true, notified: true });
      expect(b).toMatchObject({ isNew: false, notified: false, id: a.id });
      expect(await alerts.resolve('health:disk_percent', 'back to 70 %')).toBe(true);
      expect(await alerts.resolve('health:disk_percent', 'again')).toBe(false);
      const rows = db.prepare("SELECT * FROM alerts WHERE code = 'health:disk_percent'").all() as { occurrences: number; resolved_at: string | null; resolution: string }[];
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ occurrences: 2, resolution: 'back to 70 %' });
      expect(hook.received.map((r) => r.body.atlas.state)).toEqual(['raised', 'resolved']);
      expect(hook.received[0]!.body).toMatchObject({ text: expect.stringContaining('[critical] Disk usage: 96 %'), atlas: { code: 'health:disk_percent', level: 'critical' } });
      expect(hook.received[1]!.body.text).toContain('[resolved]');
      // Raised again after the resolution: a new alert.
      expect((await alerts.raise({ code: 'health:disk_percent', level: 'critical', message: 'Disk usage: 96 %' })).isNew).toBe(true);
    } finally {
      await hook.close();
    }
  });

  it('warnings wait for the digest; the webhook hears of them only when they escalate', async () => {
    const hook = await receiver();
    try {
      const { db, log } = fresh();
      const alerts = new Alerts(db, log, webhookSink(hook.url), now);
      await alerts.raise({ code: 'health:load15', level: 'warning', message: 'Load (15 min): 3.1' });
      expect(hook.requests()).toBe(0);
      // Escalation to critical is news: sent at once as raised, on the same alert.
      await alerts.raise({ code: 'health:disk_percent', level: 'warning', message: 'Disk usage: 85 %' });
      const up = await alerts.raise({ code: 'health:disk_percent', level: 'critical', message: 'Disk usage: 96 %' });
      expect(up).toMatchObject({ isNew: false, notified: true });
      expect(hook.received.map((r) => r.body.atlas)).toEqual([{ code: 'health:disk_percent', level: 'critical', message: 'Disk usage: 96 %', state: 'raised' }]);
    } finally {
      await hook.close();
    }
  });

  it('retries survive a receiver that fails at first, with bounded attempts', async () => {
    const hook = await receiver(2);
    try {
      const { db, log } = fresh();
      const waits: number[] = [];
      const sink = retryingSink(webhookSink(hook.url), { attempts: 4, backoffMs: 100, sleep: async (ms) => void waits.push(ms) });
      const alerts = new Alerts(db, log, sink, now);
      const out = await alerts.raise({ code: 'db-corrupt', level: 'critical', message: 'quick_check failed' });
      expect(out.notified).toBe(true);
      expect(hook.requests()).toBe(3);
      expect(waits).toEqual([100, 200]);
      expect(hook.received).toHaveLength(1);
    } finally {
      await hook.close();
    }
  });

  it('a receiver that never answers well leaves the alert recorded and unnotified, and the next sighting sends it', async () => {
    const hook = await receiver(3);
    try {
      const { db, log } = fresh();
      const sink = retryingSink(webhookSink(hook.url), { attempts: 3, backoffMs: 1, ...noSleep });
      const alerts = new Alerts(db, log, sink, now);
      const first = await alerts.raise({ code: 'sync-offline', level: 'critical', message: 'sync offline for 2 h' });
      expect(first).toMatchObject({ isNew: true, notified: false });
      expect(hook.requests()).toBe(3);
      expect(fs.readFileSync(log, 'utf8')).toContain('webhook-failed');
      const second = await alerts.raise({ code: 'sync-offline', level: 'critical', message: 'sync offline for 2 h 15 m' });
      expect(second).toMatchObject({ isNew: false, notified: true });
      expect(hook.received).toHaveLength(1);
    } finally {
      await hook.close();
    }
  });

  it('the daily digest gathers the day\'s warnings once, and their resolution is announced after it', async () => {
    const hook = await receiver();
    try {
      const { db, log } = fresh();
      const alerts = new Alerts(db, log, webhookSink(hook.url), now);
      // Yesterday's warning, resolved before the window: not in today's digest.
      clock = new Date('2026-11-01T06:00:00Z');
      await alerts.raise({ code: 'old', level: 'warning', message: 'old warning' });
      await alerts.resolve('old', 'gone');
      clock = new Date('2026-11-02T08:00:00Z');
      await alerts.raise({ code: 'health:load15', level: 'warning', message: 'Load high' });
      await alerts.raise({ code: 'health:load15', level: 'warning', message: 'Load high' });
      await alerts.raise({ code: 'health:approvals_pending_over_24h', level: 'warning', message: '3 approvals pending > 24 h' });
      await alerts.raise({ code: 'info-thing', level: 'info', message: 'usage statistic' });
      await alerts.raise({ code: 'crit', level: 'critical', message: 'critical thing' });
      clock = new Date('2026-11-02T09:00:00Z');
      const d = await alerts.digest('warning', 86_400_000);
      expect(d.delivered).toBe(true);
      expect(d.alerts.map((a) => a.code).sort()).toEqual(['health:approvals_pending_over_24h', 'health:load15']);
      expect(d.alerts.find((a) => a.code === 'health:load15')!.occurrences).toBe(2);
      const digestMsg = hook.received.find((r) => r.body.atlas.code === 'digest:warning')!;
      expect(digestMsg.body.text).toContain('Daily warning digest: 2 alerts');
      expect(digestMsg.body.text).toContain('Load high (2×)');
      // A second digest right after covers only what happened since.
      clock = new Date('2026-11-02T09:05:00Z');
      expect((await alerts.digest('warning', 86_400_000)).alerts).toHaveLength(0);
      // The resolution of a digested warning is announced.
      await alerts.resolve('health:load15', 'load back to 0.5');
      expect(hook.received.at(-1)!.body).toMatchObject({ atlas: { code: 'health:load15', state: 'resolved' } });
      // The weekly info summary has the info alert.
      const info = await alerts.digest('info', 7 * 86_400_000);
      expect(info.alerts.map((a) => a.code)).toEqual(['info-thing']);
    } finally {
      await hook.close();
    }
  });

  it('refuses a webhook URL that is not http(s), naming the setting', () => {
    expect(() => webhookSink('ftp://example.com/hook')).toThrow(/alerts\.webhookUrl: "ftp:\/\/example.com\/hook" must be an http\(s\) URL/);
    expect(() => webhookSink('not a url')).toThrow(/alerts\.webhookUrl: "not a url" is not a URL/);
    const home = fs.mkdtempSync(path.join(dir, 'home-'));
    try {
      loadConfig({ env: { ATLAS_HOME: home, ATLAS_ALERT_WEBHOOK_URL: 'file:///etc/passwd' } });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as Error).message).toMatch(/alerts\.webhookUrl \(from ATLAS_ALERT_WEBHOOK_URL\): "file:\/\/\/etc\/passwd" must be an http\(s\) URL/);
    }
  });
});
