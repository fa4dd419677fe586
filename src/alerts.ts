// Alerts (docs/procedures.md#alerts): always recorded in ops.db and logs/alerts.log; critical ones and
// resolutions go to the webhook at once when one is configured. One open alert per code, so a
// condition that persists is one alert with a growing count, and its resolution says so once.
import type { Db } from './db/sqlite';
import { appendLog } from './log';

export type AlertLevel = 'critical' | 'warning' | 'info';

export interface AlertInput {
  code: string;
  level: AlertLevel;
  message: string;
  details?: Record<string, unknown>;
  /** Send again even though the alert is already open (reminders while a person is awaited). */
  remind?: boolean;
}

export interface AlertRow {
  id: number;
  code: string;
  level: AlertLevel;
  message: string;
  details: string | null;
  raised_at: string;
  last_seen_at: string;
  occurrences: number;
  resolved_at: string | null;
  resolution: string | null;
  notified_at: string | null;
}

export interface AlertSink {
  /** Posts one message; throws on failure (the caller decides about retries). */
  send(message: { text: string; alert: Pick<AlertRow, 'code' | 'level' | 'message'> & { state: 'raised' | 'reminder' | 'resolved' } }): Promise<void>;
}

export interface AlertOutcome {
  id: number;
  code: string;
  isNew: boolean;
  notified: boolean;
}

const EMOJI: Record<AlertLevel, string> = { critical: ':rotating_light:', warning: ':warning:', info: ':information_source:' };

export type SinkMessage = Parameters<AlertSink['send']>[0];

/** Slack-compatible webhook sink. Refuses a URL that is not http(s), naming the setting. */
export function webhookSink(url: string, fetchImpl: typeof fetch = fetch): AlertSink {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`alerts.webhookUrl: "${url}" is not a URL`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error(`alerts.webhookUrl: "${url}" must be an http(s) URL`);
  return {
    async send(message) {
      const res = await fetchImpl(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ text: message.text, atlas: message.alert }),
        signal: AbortSignal.timeout(10_000),
      });
      if (!res.ok) throw new Error(`webhook answered ${res.status} ${res.statusText}`);
    },
  };
}

export interface RetryOptions {
  attempts: number;
  /** First wait; doubles each retry, at most 30 s, so a message is given up within a bounded time. */
  backoffMs: number;
  sleep?: (ms: number) => Promise<void>;
  /** Called after each failed attempt (logging). */
  onFailure?: (attempt: number, err: Error) => void;
}

/** Wraps a sink with bounded retries and exponential backoff: a flaky receiver still gets the message. */
export function retryingSink(sink: AlertSink, options: RetryOptions): AlertSink {
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  return {
    async send(message) {
      let wait = options.backoffMs;
      for (let attempt = 1; ; attempt++) {
        try {
          await sink.send(message);
          return;
        } catch (err) {
          options.onFailure?.(attempt, err as Error);
          if (attempt >= options.attempts) throw new Error(`webhook failed ${attempt} times, last: ${(err as Error).message}`);
          await sleep(wait);
          wait = Math.min(wait * 2, 30_000);
        }
      }
    },
  };
}

export interface DigestResult {
  level: AlertLevel;
  windowStart: string;
  alerts: { code: string; message: string; occurrences: number; open: boolean }[];
  text: string;
  delivered: boolean;
}

export class Alerts {
  constructor(
    private readonly db: Db,
    private readonly logFile: string,
    private readonly sink?: AlertSink,
    private readonly now: () => Date = () => new Date(),
  ) {}

  open(): AlertRow[] {
    return this.db.prepare('SELECT * FROM alerts WHERE resolved_at IS NULL ORDER BY raised_at').all() as AlertRow[];
  }

  byCode(code: string): AlertRow | undefined {
    return this.db.prepare('SELECT * FROM alerts WHERE code = ? ORDER BY id DESC LIMIT 1').get(code) as AlertRow | undefined;
  }

  async raise(input: AlertInput): Promise<AlertOutcome> {
    const at = this.now().toISOString();
    const details = input.details ? JSON.stringify(input.details) : null;
    const existing = this.db.prepare('SELECT * FROM alerts WHERE code = ? AND resolved_at IS NULL').get(input.code) as AlertRow | undefined;
    let id: number;
    if (existing) {
      this.db
        .prepare('UPDATE alerts SET last_seen_at = ?, occurrences = occurrences + 1, message = ?, details = ?, level = ? WHERE id = ?')
        .run(at, input.message, details, input.level, existing.id);
      id = existing.id;
    } else {
      id = Number(
        this.db
          .prepare('INSERT INTO alerts (code, level, message, details, raised_at, last_seen_at) VALUES (?, ?, ?, ?, ?, ?)')
          .run(input.code, input.level, input.message, details, at, at).lastInsertRowid,
      );
    }
    // An alert that escalates (warning → critical) is news, not a reminder.
    const state = existing && existing.level === input.level ? 'reminder' : 'raised';
    appendLog(this.logFile, { event: existing ? 'alert-repeated' : 'alert-raised', code: input.code, level: input.level, message: input.message });
    // Warnings wait for the daily digest and info for the weekly summary; critical goes out now.
    // A critical alert whose first delivery failed is sent again the next time it is seen.
    const sendNow = input.level === 'critical' && (!existing || input.remind === true || existing.notified_at === null);
    let notified = false;
    if (sendNow && this.sink) {
      notified = await this.deliver({
        text: `${EMOJI[input.level]} [${input.level}] ${input.message}${state === 'reminder' ? ` (reminder, seen ${existing!.occurrences + 1}×)` : ''}`,
        alert: { code: input.code, level: input.level, message: input.message, state },
      });
      if (notified) this.db.prepare('UPDATE alerts SET notified_at = ? WHERE id = ?').run(at, id);
    }
    return { id, code: input.code, isNew: !existing, notified };
  }

  /** Resolves the open alert with this code, if any; returns whether one was open. */
  async resolve(code: string, resolution: string): Promise<boolean> {
    const open = this.db.prepare('SELECT * FROM alerts WHERE code = ? AND resolved_at IS NULL').get(code) as AlertRow | undefined;
    if (!open) return false;
    const at = this.now().toISOString();
    this.db.prepare('UPDATE alerts SET resolved_at = ?, resolution = ? WHERE id = ?').run(at, resolution, open.id);
    appendLog(this.logFile, { event: 'alert-resolved', code, resolution });
    // Whoever heard of the alert (at once, or in a digest) hears that it is over.
    if (open.notified_at && this.sink) {
      await this.deliver({
        text: `:white_check_mark: [resolved] ${open.message}: ${resolution}`,
        alert: { code, level: open.level, message: open.message, state: 'resolved' },
      });
    }
    return true;
  }

  /**
   * The digest of one level (warnings daily, info weekly): every alert of that level seen since
   * the previous digest of that level (or `windowMs` ago, for the first), open or resolved since.
   * Sent as one webhook message, with `extra` lines (the weekly summary's report summaries); the
   * alerts count as notified, so their resolution is announced.
   */
  async digest(level: AlertLevel, windowMs: number, extra: string[] = []): Promise<DigestResult> {
    const now = this.now();
    const last = this.db.prepare('SELECT max(sent_at) FROM alert_digests WHERE level = ?').pluck().get(level) as string | null;
    const windowStart = last ?? new Date(now.getTime() - windowMs).toISOString();
    const rows = this.db
      .prepare('SELECT * FROM alerts WHERE level = ? AND (last_seen_at >= ? OR resolved_at >= ? OR (resolved_at IS NULL AND notified_at IS NULL)) ORDER BY raised_at')
      .all(level, windowStart, windowStart) as AlertRow[];
    const alerts = rows.map((r) => ({ code: r.code, message: r.message, occurrences: r.occurrences, open: r.resolved_at === null }));
    const title = level === 'info' ? 'Weekly summary' : `Daily ${level} digest`;
    const lines = alerts.length
      ? alerts.map((a) => `• ${a.open ? '' : '[resolved] '}${a.message}${a.occurrences > 1 ? ` (${a.occurrences}×)` : ''}`)
      : [`no ${level} alerts since ${windowStart}`];
    const text = `${EMOJI[level]} ${title}: ${alerts.length} alert${alerts.length === 1 ? '' : 's'} since ${windowStart}\n${[...lines, ...extra.map((e) => `▸ ${e}`)].join('\n')}`;
    let delivered = false;
    if (this.sink) {
      delivered = await this.deliver({ text, alert: { code: `digest:${level}`, level, message: `${title}: ${alerts.length} alerts`, state: 'raised' } });
    }
    const at = now.toISOString();
    this.db.transaction(() => {
      if (delivered) {
        const mark = this.db.prepare('UPDATE alerts SET notified_at = coalesce(notified_at, ?) WHERE id = ?');
        for (const r of rows) mark.run(at, r.id);
      }
      this.db.prepare('INSERT INTO alert_digests (level, sent_at, window_start, alerts, delivered) VALUES (?, ?, ?, ?, ?)').run(level, at, windowStart, alerts.length, delivered ? 1 : 0);
    })();
    appendLog(this.logFile, { event: 'alert-digest', level, alerts: alerts.length, delivered });
    return { level, windowStart, alerts, text, delivered };
  }

  /** Sends through the sink; a receiver that still fails after its retries is logged, not thrown: the alert is safe in ops.db. */
  private async deliver(message: SinkMessage): Promise<boolean> {
    try {
      await this.sink!.send(message);
      return true;
    } catch (err) {
      appendLog(this.logFile, { event: 'webhook-failed', code: message.alert.code, state: message.alert.state, error: (err as Error).message });
      return false;
    }
  }
}
