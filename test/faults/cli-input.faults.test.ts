// Fault suite, wrong CLI input (issue 7): every atlas-ops command, run as an operator runs it with
// one thing wrong — an unknown option, a missing argument, a wrong value for each option and
// argument that has one — exits 2 at once with a message naming what was wrong, and changes
// nothing. The commands, their arguments and options are read from the real command tree
// (buildProgram), so a new command is covered without editing this file, and a new option or
// argument fails the first test until it is classified here.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Command, Option } from 'commander';
import { ScheduleNotFoundError } from '@temporalio/client';
import { buildProgram } from '../../src/cli/main';
import { takeSnapshot } from '../../src/db/snapshot';
import { ensureHome } from '../../src/home';
import { atlasPaths } from '../../src/paths';
import { EXIT } from '../../src/cli/common';
import { ALL_SCHEDULES } from '../../src/workflow-safe/schedule-names';
import { NAME_MAX, TEXT_MAX } from '../../src/workflow-safe/limits';
import { scheduleId } from '../../src/schedules';
import { EmulatorStore, emulatorStateFile } from '../../src/sheets-emulator';
import { TABS } from '../../src/sheets/layout';
import { useAtlas } from '../helpers/atlas';
import { eventually, runCli, schedulePaused } from '../helpers/env';
import { expectNoTrace } from './checks';
import { recordFault } from './report';

const NO_SUCH_WORKFLOW = 'no-such-workflow-cli-input';
const NO_SUCH_CONFIG = '/nonexistent/atlas-ops.json';
/** A host no worker serves: a procedure sent there would wait for its first host step. */
const NO_SUCH_HOST = 'nohost-cli-input';
/** Over the caps of docs/operator-contract.md#bounds; well under the kernel's 128 KiB per argument. */
const LONG_TEXT = 't'.repeat(TEXT_MAX + 1);
const LONG_NAME = 'n'.repeat(NAME_MAX + 1);

/**
 * Well-formed values for each argument, so that the one wrong thing in a case is the one reported.
 * Well-formed is enough: every case fails before these are looked up (the workflow and the backup
 * do not exist).
 */
const VALID_ARGUMENT: Record<string, string> = {
  schedule: 'export',
  'workflow-id': NO_SUCH_WORKFLOW,
  decision: 'retry',
  backup: 'atlas_20990101-000000.db',
  name: 'errors',
  kind: '429',
  cell: 'Approvals!G2',
  value: 'approve',
  range: 'Approvals',
};

/** Two SSH fingerprints as ssh-keygen -lf prints them (key-rotation ssh-installed --new/--old). */
const SSH_NEW = `SHA256:${'N'.repeat(43)}`;
const SSH_OLD = `SHA256:${'O'.repeat(43)}`;

/** Values for the options a command requires (incident start --summary, incident advance --note). */
const VALID_MANDATORY: Record<string, string> = {
  '--summary': 'disk full',
  '--note': 'checked the logs',
  '--new': SSH_NEW,
  '--old': SSH_OLD,
};

/** Wrong values for each argument the handlers check, by argument name. */
const WRONG_ARGUMENT: Record<string, string[]> = {
  schedule: ['banana'],
  'workflow-id': [NO_SUCH_WORKFLOW],
  decision: ['banana'],
  // A name that would leave backups/, and one that is not there.
  backup: ['../../etc/passwd', 'atlas_20990101-000000.db'],
  name: ['banana'],
  kind: ['banana'],
  cell: ['Nope!A1'],
  range: ['Nope!A1'],
};

/** Arguments that take any value, so no value is wrong. */
const ANY_ARGUMENT: Record<string, string> = {
  value: 'what a person types into a cell: any text',
};

/**
 * Wrong values for each option that takes one, by flag, or by "<command> <flag>" where a flag
 * means something else in one command.
 */
const WRONG_OPTION: Record<string, string[]> = {
  '--port': ['banana', '70000'],
  '--ui-port': ['banana', '70000'],
  '--tasks': ['banana'],
  '--seed': ['banana'],
  // Below the minimums: an alert every millisecond would fill the procedure's history.
  '--edit-timeout': ['banana', '1ms'],
  '--reminder-interval': ['banana', '1ms', '999ms'],
  '--drain-timeout': ['banana', '1ms'],
  '--hours': ['banana', '0'],
  '--poll-intervals': ['1m,banana', '1m,1ms'],
  '--spreadsheet': ['banana'],
  '--count': ['banana', '0'],
  '--retry-after': ['banana'],
  '--latency': ['banana'],
  '--on': ['banana'],
  '--target': ['../../etc/passwd'],
  '--threshold': ['banana', '150'],
  '--keep': ['banana', '0'],
  '--approve-oci': [NO_SUCH_WORKFLOW],
  '--swapped': [NO_SUCH_WORKFLOW],
  // Given alone: it only goes with --approve-oci.
  '--backup-id': ['banana'],
  '--since': ['banana', '2999-01-01', '99999999999d'],
  '--pause': ['exprot', 'export,exprot,bakcup'],
  // Free text and names have a cap; the message names the option, the length and the cap.
  '--reason': [LONG_TEXT, 'r'.repeat(100_000)],
  '--note': [LONG_TEXT],
  // Blank, or over the cap: the postmortem's title.
  '--summary': [LONG_TEXT, '', '   '],
  '--by': [LONG_NAME],
  // Every command that starts a procedure: refused when no worker serves that host's queue.
  '--host': [NO_SUCH_HOST, LONG_NAME],
  // The backup is looked up first (and does not exist here), so only the parser's cap is reached.
  'db restore --host': [LONG_NAME],
  // Without --replica (the case's base) it goes with nothing; with it, outside the range (test/replication.test.ts).
  '--at': ['banana'],
  // A directory without the five TLS files: refused naming the missing file, before anything starts.
  'cluster up --tls': ['/nonexistent-atlas-tls-dir'],
  // Not a fingerprint as ssh-keygen -lf prints it; the old key given as the new one.
  '--new': ['banana', 'SHA256:short', 'MD5:aa:bb'],
  '--old': ['banana', SSH_NEW],
};

/**
 * Commands that run until stopped. Wrong input must stop them before they start, a --config that
 * does not exist included (dev used to ignore it and start everything). The other commands all
 * read --config through configFor; a case for each would add a CLI start per command.
 */
const LONG_RUNNING = ['dev', 'worker', 'sheets-emulator serve', 'replication run'];

/** The program's own options, which every command takes. */
const GLOBAL_OPTION: Record<string, string> = {
  '--config': 'the long-running commands get a case with a file that does not exist',
  '--home': 'any directory: the commands that need an Atlas home check that it exists (requireHome)',
};

/** Options that legitimately take any text: skipped on purpose, with the reason. */
const ANY_OPTION: Record<string, string> = {
  'list --host': 'a filter: a host that runs nothing lists nothing',
  'sheets-emulator serve --spreadsheet': 'the id of a spreadsheet to create: any id is a new one',
  '--dir': 'the cluster\'s directory: `up` creates any path, `down` and `status` report "no cluster" for one without it',
  'cluster up --tls-server-name': 'the name in the frontend\'s certificate: any name; a wrong one fails the TLS handshake with the files named',
};

interface CommandNode {
  /** "schedules pause"; "atlas-ops" for the program itself. */
  name: string;
  words: string[];
  cmd: Command;
}

/**
 * Every command of the tree, the program first. A command with subcommands is a group (no atlas-ops
 * group has an action of its own); the others are the commands an operator runs.
 */
function commandsOf(cmd: Command, words: string[] = []): CommandNode[] {
  return [{ name: words.join(' ') || 'atlas-ops', words, cmd }, ...cmd.commands.flatMap((c) => commandsOf(c, [...words, c.name()]))];
}

const takesValue = (o: Option) => o.required || o.optional;
const optionKey = (node: CommandNode, o: Option) => [`${node.name} ${o.long}`, o.long!].find((k) => k in WRONG_OPTION || k in ANY_OPTION);

interface Case {
  command: string;
  what: string;
  args: string[];
  /** The message must contain one of these: the option, the argument or the value. */
  names: string[];
}

/** What the tables do not say about the command's arguments and options (must be empty). */
function unclassified(node: CommandNode): string[] {
  const missing: string[] = [];
  for (const a of node.cmd.registeredArguments) {
    if (!(a.name() in VALID_ARGUMENT)) missing.push(`${node.name} <${a.name()}>: no VALID_ARGUMENT`);
    if (!(a.name() in WRONG_ARGUMENT) && !(a.name() in ANY_ARGUMENT)) missing.push(`${node.name} <${a.name()}>: neither WRONG_ARGUMENT nor ANY_ARGUMENT`);
  }
  for (const o of node.cmd.options) {
    if (!node.words.length) {
      if (takesValue(o) && !(o.long! in GLOBAL_OPTION)) missing.push(`${node.name} ${o.long}: not in GLOBAL_OPTION`);
      continue;
    }
    if (o.mandatory && !(o.long! in VALID_MANDATORY)) missing.push(`${node.name} ${o.long}: no VALID_MANDATORY`);
    if (takesValue(o) && !optionKey(node, o)) missing.push(`${node.name} ${o.long}: neither WRONG_OPTION nor ANY_OPTION`);
  }
  return missing;
}

/** Wrong together though right alone: what the generator cannot derive from single options. */
const COMBINATIONS: Case[] = [
  { command: 'recover corruption', what: '--approve-oci with --swapped', args: ['recover', 'corruption', '--approve-oci', NO_SUCH_WORKFLOW, '--swapped', NO_SUCH_WORKFLOW], names: ['--approve-oci'] },
];

/** One wrong thing at a time, everything else well-formed. */
function casesFor(node: CommandNode): Case[] {
  const { cmd, words, name: command } = node;
  if (cmd.commands.length) {
    return [{ command, what: 'unknown subcommand', args: [...words, 'bogus'], names: ["'bogus'"] }];
  }
  const declared = cmd.registeredArguments;
  const required = declared.filter((a) => a.required).map((a) => VALID_ARGUMENT[a.name()]!);
  /** The options the command requires, given, but for `left` (the case where it is missing). */
  const mandatoryBut = (left?: Option) => cmd.options.filter((o) => o.mandatory && o !== left).flatMap((o) => [o.long!, VALID_MANDATORY[o.long!]!]);
  const mandatory = mandatoryBut();
  const base = [...words, ...required, ...mandatory];
  const cases: Case[] = [{ command, what: 'unknown option', args: [...base, '--bogus'], names: ['--bogus'] }];
  if (LONG_RUNNING.includes(command)) cases.push({ command, what: '--config names a file that does not exist', args: ['--config', NO_SUCH_CONFIG, ...base], names: ['--config'] });
  declared.forEach((a, i) => {
    if (a.required) cases.push({ command, what: `<${a.name()}> missing`, args: [...words, ...required.slice(0, i), ...mandatory], names: [`'${a.name()}'`] });
    for (const value of WRONG_ARGUMENT[a.name()] ?? []) {
      const positional = declared.slice(0, i + 1).map((b, j) => (j === i ? value : VALID_ARGUMENT[b.name()]!));
      cases.push({ command, what: `<${a.name()}> ${value}`, args: [...words, ...positional, ...required.slice(i + 1), ...mandatory], names: [value, a.name()] });
    }
  });
  for (const o of cmd.options) {
    if (o.mandatory) cases.push({ command, what: `${o.long} missing`, args: [...words, ...required, ...mandatoryBut(o)], names: [o.long!] });
    if (!takesValue(o)) continue;
    for (const value of WRONG_OPTION[optionKey(node, o) ?? ''] ?? []) {
      cases.push({ command, what: `${o.long} ${value}`, args: [...base, o.long!, value], names: [o.long!, value] });
    }
  }
  return cases;
}

/** Runs fn over items, `limit` at a time. */
async function inBatches<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return results;
}

/** A bad-input case must end this fast: a command that started something would run until killed. */
const QUICK_MS = 15_000;
const KILL_MS = 30_000;
/**
 * Each case is a CLI start, nearly all CPU (node and the command tree): two at a time keep CI's two cores
 * busy, and more would only take them from the test file vitest runs beside this one.
 */
const CONCURRENCY = 2;

/** What went wrong with one case, if anything. */
async function check(c: Case): Promise<string | undefined> {
  const started = Date.now();
  const r = await runCli(t, c.args, {}, KILL_MS);
  const ms = Date.now() - started;
  // Commander prints the command's help after its own errors; the message is what comes before.
  const message = r.stderr.split('\nUsage: ')[0]!.trim();
  const problems = [
    r.code !== EXIT.usage && `exit ${r.code}, not ${EXIT.usage}`,
    !c.names.some((n) => message.includes(n)) && `the message names none of ${c.names.join(', ')}`,
    r.stdout !== '' && `printed on stdout: ${r.stdout.trim().slice(0, 200)}`,
    ms > QUICK_MS && `took ${ms} ms`,
  ].filter(Boolean);
  return problems.length ? `${c.command}: ${c.what} (atlas-ops ${c.args.join(' ')}): ${problems.join('; ')}\n    stderr: ${message.slice(0, 300)}` : undefined;
}

/** Every file of the Atlas home with its hash: bad input must leave all of them as they were. */
function fingerprint(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath, entry.name);
    out[path.relative(dir, file)] = crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
  }
  return out;
}

/** The workflows started on a task queue ("type id"), from the server's visibility store. */
async function workflowsOn(taskQueue: string): Promise<string[]> {
  const found: string[] = [];
  for await (const wf of t.client.workflow.list({ query: `TaskQueue="${taskQueue}"` })) found.push(`${wf.type} ${wf.workflowId}`);
  return found;
}

const SCHEDULES = ['export', 'import', 'backup'];

/**
 * Commands that start a procedure, run with `--home <another home>` while the worker on this host's
 * queue serves the test's home: refused before anything starts, naming both homes
 * (docs/safety.md#the-home-and-host-asked). `<backup>` is a backup that exists in the other home.
 */
const OTHER_HOME_STARTS = [
  ['backup'],
  ['db', 'restore', '<backup>', '--wait'],
  ['maintenance', 'start'],
  ['recover', 'corruption'],
  ['disk-emergency'],
  ['incident', 'start', '--summary', 'disk full'],
  ['key-rotation', 'start'],
  ['sheets-outage', 'start'],
  ['sync', 'export'],
  ['health'],
];

let nodes: CommandNode[];
let homeBefore: Record<string, string>;
let otherHome: string;
let otherBackup: string;
let otherBefore: Record<string, string>;

const t = useAtlas({
  schedules: SCHEDULES,
  // Polling this host's queue, so the CLI knows which home the worker serves.
  worker: true,
  async prepare(a) {
    otherHome = fs.mkdtempSync(path.join(os.tmpdir(), 'atlas-cli-input-other-'));
    a.defer(() => fs.rmSync(otherHome, { recursive: true, force: true }));
    ensureHome(otherHome, { demo: true, seedTasks: 5 });
    otherBackup = (await takeSnapshot({ source: atlasPaths(otherHome).atlasDb, backupsDir: atlasPaths(otherHome).backupsDir, reason: 'cli input' })).file;
    otherBefore = fingerprint(otherHome);
    // A spreadsheet in the emulator's state, so that sheets-emulator show/set reach their range checks.
    new EmulatorStore(emulatorStateFile(a.home)).createSpreadsheet('cli-input', 'wrong CLI input', [...TABS]);
    homeBefore = fingerprint(a.home);
    nodes = commandsOf(buildProgram());
  },
});

describe('wrong input to every CLI command', { timeout: 900_000 }, () => {
  it('the command tree is walked, and every argument and option is classified here', () => {
    const names = nodes.map((n) => n.name);
    expect(names).toEqual(expect.arrayContaining([...LONG_RUNNING, 'schedules pause', 'maintenance start', 'decide', 'db restore', 'recover corruption', 'report', 'incident start', 'sheets-emulator fault']));
    expect(nodes.flatMap(unclassified)).toEqual([]);
  });

  it('each case exits 2 at once, naming what was wrong, with nothing on stdout', async () => {
    const cases = [...nodes.flatMap(casesFor), ...COMBINATIONS];
    // Every command, groups and the program included, gets at least one case.
    for (const n of nodes) expect(cases.some((c) => c.command === n.name), n.name).toBe(true);
    const failures = await inBatches(cases, CONCURRENCY, check);
    const failed = new Set(cases.filter((_, i) => failures[i]).map((c) => c.command));
    for (const n of nodes) recordFault({ fault: 'wrong CLI input', survived: !failed.has(n.name), dataLost: 0 });
    expect(failures.filter(Boolean).join('\n')).toBe('');
  });

  it('each command that starts a procedure, given --home <another home>, exits 2 naming both homes', async () => {
    const failures = await inBatches(OTHER_HOME_STARTS, CONCURRENCY, async (words) => {
      const args = ['--home', otherHome, ...words.map((w) => (w === '<backup>' ? otherBackup : w))];
      const r = await runCli(t, args, {}, KILL_MS);
      const both = `this worker serves ${fs.realpathSync(t.home)}, the procedure asked for ${fs.realpathSync(otherHome)}`;
      const ok = r.code === EXIT.usage && r.stderr.includes(both) && r.stderr.includes('nothing was started');
      recordFault({ fault: 'wrong CLI input', survived: ok, dataLost: 0 });
      return ok ? undefined : `atlas-ops ${args.join(' ')}: exit ${r.code}\n    ${r.stderr.trim().slice(0, 300)}`;
    });
    expect(failures.filter(Boolean).join('\n')).toBe('');
    // changed on disk: nothing, in the other home either (this home: the next test)
    expect(fingerprint(otherHome)).toEqual(otherBefore);
  });

  it('had no effect: the home byte for byte, no lock, log or alert, no schedule touched, no workflow started', async () => {
    // The whole home: atlas.db, backups/, the maintenance flag, reports/, the emulator's state, run/.
    expect(fingerprint(t.home)).toEqual(homeBefore);
    expectNoTrace(t.home);
    for (const name of SCHEDULES) {
      expect((await schedulePaused(t, name)).paused, name).toBe(false);
      expect((await t.client.schedule.getHandle(scheduleId(t.config, name)).describe()).info.recentActions, `${name} triggered`).toEqual([]);
    }
    // Nothing applied: the schedules this test did not create still do not exist.
    for (const name of ALL_SCHEDULES.filter((n) => !SCHEDULES.includes(n))) {
      await expect(t.client.schedule.getHandle(scheduleId(t.config, name)).describe(), name).rejects.toBeInstanceOf(ScheduleNotFoundError);
    }
    expect(await workflowsOn(t.config.taskQueue)).toEqual([]);
    // The query can see a workflow at all: one started on a queue of its own (no worker) is listed.
    const control = `${t.config.taskQueue}-control`;
    const handle = await t.client.workflow.start('noSuchWorkflow', { taskQueue: control, workflowId: `cli-input-control-${t.id}` });
    try {
      await eventually(async () => (await workflowsOn(control)).length === 1, 60_000, 'the control workflow to be listed');
    } finally {
      await handle.terminate();
    }
  });
});
