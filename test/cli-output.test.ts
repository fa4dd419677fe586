// What the operator reads: `--wait` progress as plain lines when stdout is not a terminal (and a
// live line when it is), `atlas-ops list` with what each procedure waits for, `--json` that parses,
// and exit codes.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { WorkflowExecutionDescription } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { ProgressView, nextCommands, pendingProgress, plainOutput, terminalOutput } from '../src/cli/follow';
import { terminalLine, terminalText } from '../src/cli/terminal-text';
import { shellQuote } from '../src/workflow-safe/shell-quote';
import { formatRows, listQuery, type ProcedureRow } from '../src/cli/list';
import type { ProcedureStatus } from '../workflows/lib/procedure';
import { useAtlas } from './helpers/atlas';
import { REPO, eventually, runCli, type TestEnv } from './helpers/env';

/**
 * The CLI as a child whose output can be read while it runs: stdout a pipe (not a TTY), or with
 * `tty` a real pseudo-terminal made by util-linux `script`.
 */
function spawnCli(t: TestEnv, args: string[], tty = false) {
  const argv = [path.join(REPO, 'bin', 'atlas-ops.js'), ...args];
  const quoted = [process.execPath, ...argv].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(' ');
  const [file, fileArgs] = tty ? ['script', ['-q', '-e', '-c', quoted, '/dev/null']] : [process.execPath, argv];
  const child = spawn(file, fileArgs, {
    env: { ...process.env, ...t.env, NO_COLOR: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out = { stdout: '', stderr: '' };
  child.stdout.on('data', (d: Buffer) => (out.stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out.stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, out, exited };
}

const ESC = '\x1b[';

describe('progress rendering', () => {
  const status = (over: Partial<ProcedureStatus> = {}): ProcedureStatus => ({
    procedure: 'maintenance',
    workflowId: 'maintenance-1',
    phase: 'snapshot',
    state: 'running',
    startedAt: '2026-01-01T00:00:00.000Z',
    phases: [{ name: 'snapshot', startedAt: '2026-01-01T00:00:01.000Z' }],
    events: [],
    facts: {},
    step: 'snapshot',
    ...over,
  });
  const snapshotProgress = (percent: number) => [{ activity: 'snapshotAtlasDb', attempt: 1, percent, bytes: percent * 1_048_576, totalBytes: 104_857_600 }];

  it('reads the backup percent from the pending activity heartbeat', () => {
    const description = {
      raw: {
        pendingActivities: [
          { activityType: { name: 'snapshotAtlasDb' }, attempt: 1, heartbeatDetails: { payloads: [defaultPayloadConverter.toPayload({ bytesCopied: 52_428_800, totalBytes: 104_857_600, percent: 50 })] } },
          { activityType: { name: 'waitForSchedulesIdle' }, attempt: 3, lastFailure: { message: 'export still running' } },
        ],
      },
    } as unknown as WorkflowExecutionDescription;
    expect(pendingProgress(description)).toEqual([
      { activity: 'snapshotAtlasDb', attempt: 1, percent: 50, bytes: 52_428_800, totalBytes: 104_857_600 },
      { activity: 'waitForSchedulesIdle', attempt: 3, lastFailure: 'export still running' },
    ]);
  });

  it('prints plain lines without escape codes: phases, steps, progress by quarters, the resume command', () => {
    let text = '';
    const view = new ProgressView(plainOutput((s) => (text += s)), 'maintenance-1', 'http://ui/wf');
    view.update(status(), snapshotProgress(10));
    view.update(status(), snapshotProgress(20));
    view.update(status(), snapshotProgress(60));
    const editing = status({
      phase: 'edit',
      step: undefined,
      waitingFor: 'edits to atlas.db, then resume',
      state: 'waiting',
      phases: [{ name: 'snapshot', startedAt: '2026-01-01T00:00:01.000Z' }, { name: 'edit', startedAt: '2026-01-01T00:00:02.000Z' }],
      events: [{ at: '2026-01-01T00:00:01.500Z', phase: 'snapshot', message: 'snapshot verified' }],
    });
    view.update(editing, []);
    view.update(editing, []);
    expect(text).not.toContain(ESC);
    const lines = text.trimEnd().split('\n');
    expect(lines).toEqual([
      '[snapshot] maintenance maintenance-1',
      '  step: snapshot',
      '  progress: snapshotAtlasDb 10% (10.0 MB of 100.0 MB)',
      '  progress: snapshotAtlasDb 60% (60.0 MB of 100.0 MB)',
      '  00:00:01 snapshot verified',
      '[edit] maintenance maintenance-1',
      '  waiting for you: edits to atlas.db, then resume',
      '  when done:  atlas-ops maintenance resume maintenance-1 --by <you> --note "<what changed>"',
      '  to give up: atlas-ops maintenance abort maintenance-1 [--rollback]',
      '  or in the Web UI: http://ui/wf',
    ]);
  });

  it('on a terminal rewrites one live line with the step and the percent', () => {
    let text = '';
    const view = new ProgressView(terminalOutput((s) => (text += s)), 'maintenance-1', 'http://ui/wf');
    view.update(status(), snapshotProgress(42), Date.parse('2026-01-01T00:01:05.000Z'));
    expect(text).toContain('\r\x1b[K');
    const live = text.split('\r\x1b[K').at(-1)!;
    expect(live).toMatch(/\[snapshot\] step "snapshot" · snapshotAtlasDb 42% \(42\.0 MB of 100\.0 MB\) · 1m5s$/);
    view.update(status({ phase: 'failed', step: undefined, failedStep: { step: 'snapshot', error: 'disk full', allowed: ['retry', 'abort'], since: '' } }), []);
    expect(text).toContain('decide:     atlas-ops decide maintenance-1 <retry|abort>');
  });

  it('shows control characters in operator text escaped, so typed text cannot forge a line or clear the screen', () => {
    let text = '';
    const view = new ProgressView(plainOutput((s) => (text += s)), 'maintenance-1', 'http://ui/wf');
    view.update(status({ events: [{ at: '2026-01-01T00:00:01.000Z', phase: 'pause', actor: 'ev\x9bil', message: 'maintenance started: x\n\x1b[2Jstarted: true\r\x07' }] }), []);
    expect(text).toContain('ev\\x9bil: maintenance started: x\\n\\x1b[2Jstarted: true\\r\\x07');
    // eslint-disable-next-line no-control-regex -- no control character but the line breaks reaches the terminal
    expect(text).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
    expect(text.split('\n').some((l) => l.startsWith('started: true'))).toBe(false);
    expect(terminalText(['a\tb', 'c\x00'])).toBe('a\\tb\nc\\x00');
    // Our own colour stays when colour is on; anything else is escaped even then.
    expect(terminalLine('\x1b[31mred\x1b[0m \x1b[2J', true)).toBe('\x1b[31mred\x1b[0m \\x1b[2J');
    // A rendition code that hides text (8: concealed) or fakes it (7: reverse) is not a colour of ours.
    expect(terminalLine('ok \x1b[8mhidden\x1b[7m', true)).toBe('ok \\x1b[8mhidden\\x1b[7m');
  });

  it('quotes ids in the commands it suggests, so a pasted command does what it says', async () => {
    const id = `it's a "test"; touch x`;
    const lines = nextCommands(status({ phase: 'edit', waitingFor: 'edits' }), id);
    expect(lines[0]).toBe(`when done:  atlas-ops maintenance resume 'it'\\''s a "test"; touch x' --by <you> --note "<what changed>"`);
    for (const value of [id, 'plain-id_1', "'", '$(rm -rf /)', 'a b\tc']) {
      const echoed = await new Promise<string>((resolve) => {
        const sh = spawn('sh', ['-c', `printf %s ${shellQuote(value)}`]);
        let out = '';
        sh.stdout.on('data', (d: Buffer) => (out += d.toString()));
        sh.on('close', () => resolve(out));
      });
      expect(echoed, value).toBe(value);
    }
    expect(shellQuote('maintenance-20260101-000000-ab12')).toBe('maintenance-20260101-000000-ab12');
  });

  it('lists rows with the command that moves each on', () => {
    const row: ProcedureRow = {
      workflowId: 'maintenance-1', procedure: 'maintenance', phase: 'edit', waitingFor: 'edits', waitingForText: 'edits to atlas.db, then resume',
      startedAt: new Date(Date.now() - 120_000).toISOString(), next: ['when done:  atlas-ops maintenance resume maintenance-1'], url: 'u',
    };
    expect(formatRows([row])).toEqual([
      'maintenance-1  maintenance  phase edit  WAITING for edits to atlas.db, then resume  started 2m ago',
      '    when done:  atlas-ops maintenance resume maintenance-1',
    ]);
    expect(formatRows([])).toEqual(['no procedures running']);
    expect(listQuery({ taskQueue: 'atlas-ops' }, { waiting: true, host: "o'brien" })).toBe(
      "AtlasProcedure IS NOT NULL AND ExecutionStatus = 'Running' AND TaskQueue = 'atlas-ops' AND AtlasHost = 'o\\'brien' AND AtlasWaitingFor IS NOT NULL",
    );
  });
});

describe('the CLI against a real server', () => {
  const t = useAtlas({ worker: true });

  it('lists nothing, as text and as JSON', async () => {
    const text = await runCli(t, ['list']);
    expect(text.code).toBe(0);
    expect(text.stdout.trim()).toBe('no procedures running');
    const json = await runCli(t, ['list', '--json']);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual([]);
  });

  it('follows maintenance --wait in plain lines, lists it as waiting, and exits 0 after resume', async () => {
    const follow = spawnCli(t, ['maintenance', 'start', '--wait', '--reason', 'cli output test', '--by', 'tester']);
    await eventually(() => follow.out.stdout.includes('waiting for you:'), 60_000, 'the waiting prompt');
    const id = /started maintenance (\S+)/.exec(follow.out.stdout)![1]!;

    const list = await runCli(t, ['list']);
    expect(list.code).toBe(0);
    expect(list.stdout).toContain(`${id}  maintenance  phase edit  WAITING for edits to atlas.db, then resume`);
    expect(list.stdout).toContain(`atlas-ops maintenance resume ${id}`);
    const rows = JSON.parse((await runCli(t, ['list', '--waiting', '--json'])).stdout) as ProcedureRow[];
    expect(rows.map((r) => [r.workflowId, r.procedure, r.phase, r.waitingFor, r.host])).toEqual([[id, 'maintenance', 'edit', 'edits', t.config.host]]);
    // Filtered by host: this one has it, another has none.
    expect((JSON.parse((await runCli(t, ['list', '--json', '--host', t.config.host])).stdout) as ProcedureRow[]).map((r) => r.workflowId)).toEqual([id]);
    expect(JSON.parse((await runCli(t, ['list', '--json', '--host', `other-${t.id}`])).stdout)).toEqual([]);

    const resume = await runCli(t, ['maintenance', 'resume', id, '--by', 'tester', '--note', 'nothing changed']);
    expect(resume.code).toBe(0);
    expect(await follow.exited).toBe(0);
    const out = follow.out.stdout;
    expect(out).not.toContain(ESC); // no colour, no live line: stdout is a pipe
    for (const expected of ['[lock]', '[pause]', '[snapshot]', '[edit]', `  when done:  atlas-ops maintenance resume ${id}`, '[verify]', '[resume]']) {
      expect(out).toContain(expected);
    }
    expect(out.indexOf('[snapshot]')).toBeLessThan(out.indexOf('[edit]'));
    expect(out).toMatch(/"outcome": "completed"/);
  });

  it.skipIf(!fs.existsSync('/usr/bin/script'))('on a real terminal: colour, a live line rewritten in place, the resume prompt', async () => {
    const follow = spawnCli(t, ['maintenance', 'start', '--wait', '--reason', 'tty test'], true);
    await eventually(() => follow.out.stdout.includes('waiting for you:'), 60_000, 'the waiting prompt on the terminal');
    const id = /started maintenance (\S+)/.exec(follow.out.stdout)![1]!;
    // eslint-disable-next-line no-control-regex -- the terminal's escape codes are what is tested
    await eventually(() => /\r\x1b\[K. \[edit\] \x1b\[33mwaiting for you\x1b\[0m · \d+s/.test(follow.out.stdout), 60_000, 'the live line');
    expect((await runCli(t, ['maintenance', 'resume', id, '--by', 'tester'])).code).toBe(0);
    expect(await follow.exited).toBe(0);
    const out = follow.out.stdout;
    expect(out).toContain('\x1b[1m[edit]\x1b[0m'); // bold phase
    expect(out).toContain('\x1b[33m'); // yellow "waiting for you"
    // eslint-disable-next-line no-control-regex -- as above
    expect(out).toMatch(/\r\x1b\[K. \[completed\] completed · \d+s/); // the live line's last state
    expect(out).toContain(`when done:  atlas-ops maintenance resume ${id}`);
  });

  it('status shows a --reason and --by with control characters escaped, on one line', async () => {
    const reason = 'x\n\x1b[2Jstarted: true';
    const start = await runCli(t, ['--json', 'maintenance', 'start', '--reason', reason, '--by', 'ev\x1b[1Ail']);
    expect(start.code, start.stderr).toBe(0);
    const id = JSON.parse(start.stdout).workflowId as string;
    try {
      const shown = await eventually(async () => {
        const r = await runCli(t, ['status', id]);
        return r.stdout.includes('maintenance started') ? r.stdout : undefined;
      }, 60_000, 'the start event in the status');
      expect(shown).toContain('ev\\x1b[1Ail: maintenance started: x\\n\\x1b[2Jstarted: true');
      expect(shown).not.toContain('\x1b');
      expect(shown.split('\n').some((l) => l.startsWith('started: true'))).toBe(false);
    } finally {
      expect((await runCli(t, ['maintenance', 'abort', id])).code).toBe(0);
      await t.client.workflow.getHandle(id).result();
    }
  });

  it('prints one JSON object with --json --wait, and exit code 3 when the procedure is aborted', async () => {
    const follow = spawnCli(t, ['--json', 'maintenance', 'start', '--wait', '--reason', 'json test']);
    const id = await eventually(async () => {
      const rows = JSON.parse((await runCli(t, ['list', '--waiting', '--json'])).stdout) as ProcedureRow[];
      return rows[0]?.workflowId;
    }, 60_000, 'the maintenance to wait');
    const abort = await runCli(t, ['maintenance', 'abort', id, '--by', 'tester']);
    expect(abort.code).toBe(0);
    expect(await follow.exited).toBe(3);
    const parsed = JSON.parse(follow.out.stdout) as { workflowId: string; exitCode: number; result: { outcome: string } };
    expect(parsed).toMatchObject({ workflowId: id, exitCode: 3, result: { outcome: 'aborted' } });
  });

  it('documents the exit codes in --help and exits 2 on bad input', async () => {
    const help = await runCli(t, ['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Exit codes: 0 ok, 1 failed, 2 bad input');
    const bad = await runCli(t, ['maintenance', 'start', '--edit-timeout', 'soon']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--edit-timeout');
  });
});
