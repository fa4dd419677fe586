// Alerts (PRODUCT.md §4): always recorded in ops.db and logs/alerts.log; critical ones and
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

/** Slack-compatible webhook sink. */
export function webhookSink(url: string, fetchImpl: typeof fetch = fetch): AlertSink {
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
    const state = existing ? 'reminder' : 'raised';
    appendLog(this.logFile, { event: existing ? 'alert-repeated' : 'alert-raised', code: input.code, level: input.level, message: input.message });
    // Warnings wait for the daily digest and info for the weekly summary; critical goes out now.
    const sendNow = input.level === 'critical' && (!existing || input.remind === true);
    let notified = false;
    if (sendNow && this.sink) {
      await this.sink.send({
        text: `${EMOJI[input.level]} [${input.level}] ${input.message}${existing ? ` (reminder, seen ${existing.occurrences + 1}×)` : ''}`,
        alert: { code: input.code, level: input.level, message: input.message, state },
      });
      this.db.prepare('UPDATE alerts SET notified_at = ? WHERE id = ?').run(at, id);
      notified = true;
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
    if (open.notified_at && this.sink) {
      await this.sink.send({
        text: `:white_check_mark: [resolved] ${open.message}: ${resolution}`,
        alert: { code, level: open.level, message: open.message, state: 'resolved' },
      });
    }
    return true;
  }
}
