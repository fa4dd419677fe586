// The Temporal Web UI in a real browser (Debian's chromium, headless): an operator finds the running
// maintenance with a search-attribute filter, reads its current details, resumes it through the
// signal dialog and sees it complete; starts a procedure from the start-workflow form; and a start
// with wrong JSON input fails at once with an error naming the field. Screenshots land in
// test-artifacts/web-ui/ so a person can see what the test saw.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { Client, Connection, WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { startDevServerOnPickedPorts, type DevServer } from '../src/temporal/dev-server';
import { createAtlasWorker, type AtlasWorker } from '../src/worker';
import { statusQuery } from '../workflows/lib/procedure';
import type { MaintenanceResult } from '../workflows/maintenance';
import { registeredWorkflowTypes } from '../src/cli/commands/schedules';
import type { AtlasConfig } from '../src/config';
import { REPO, eventually, makeEnv, type TestEnv } from './helpers/env';
import { lostTaskSlackMs, lostWorkflowTasks } from './helpers/history';

const CHROMIUM = process.env.ATLAS_CHROMIUM ?? '/usr/bin/chromium';
const ARTIFACTS = path.join(REPO, 'test-artifacts', 'web-ui');
const haveChromium = fs.existsSync(CHROMIUM);
if (!haveChromium) console.warn(`web-ui test skipped: no chromium at ${CHROMIUM} (apt-get install chromium)`);

describe.skipIf(!haveChromium)('the Temporal Web UI', () => {
  let t: TestEnv;
  let server: DevServer;
  let client: Client;
  let config: AtlasConfig;
  let worker: AtlasWorker;
  let running: Promise<void>;
  let browser: BrowserContext;
  let page: Page;
  let scratch: string;
  let ui: string;

  const shot = async (name: string) => {
    await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: false });
  };

  /** Text the UI renders from Markdown in an iframe (`/render?…`): the summary, the current details. */
  const frameText = async (marker: string): Promise<string> => {
    for (const frame of page.frames()) {
      if (frame.url().includes('/render?') && frame.url().includes(marker)) return frame.locator('body').innerText();
    }
    return '';
  };
  const currentDetails = () => frameText('overrideTheme=background');

  /** Types JSON into one of the UI's CodeMirror input editors. */
  const typeJson = async (scope: Page | ReturnType<Page['getByRole']>, json: string) => {
    const editor = scope.locator('.cm-content').first();
    await editor.click();
    await page.keyboard.press('Control+A');
    await page.keyboard.press('Delete');
    await page.keyboard.insertText(json);
    // The UI reformats the JSON when the editor loses focus, which moves the buttons below it:
    // blur first, so the next click lands where a person would click.
    await editor.blur();
    await page.waitForTimeout(300);
  };

  const workflowPage = (id: string) => `${ui}/namespaces/default/workflows/${encodeURIComponent(id)}`;

  beforeAll(async () => {
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'atlas-web-ui-'));
    t = await makeEnv();
    // The suite's shared server is headless: this test runs its own, with the UI, on free ports.
    server = await startDevServerOnPickedPorts({ dbFile: path.join(scratch, 'temporal.db'), logFile: path.join(scratch, 'temporal.log') });
    ui = server.uiUrl!;
    config = { ...t.config, temporal: { ...t.config.temporal, address: server.address, uiUrl: ui } };
    client = new Client({ connection: await Connection.connect({ address: server.address }), namespace: 'default' });
    worker = await createAtlasWorker(config, { workflowBundlePath: inject('workflowBundlePath'), client });
    running = worker.run();
    browser = await chromium.launchPersistentContext(path.join(scratch, 'chromium-profile'), {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1400, height: 1000 },
    });
    browser.setDefaultTimeout(30_000);
    page = browser.pages()[0] ?? (await browser.newPage());
  });

  afterAll(async () => {
    await browser?.close().catch(() => undefined);
    worker?.shutdown();
    await running?.catch(() => undefined);
    await client?.connection.close().catch(() => undefined);
    await server?.stop();
    await t?.cleanup();
    if (scratch && !process.env.ATLAS_KEEP_TEST_FILES) fs.rmSync(scratch, { recursive: true, force: true });
  });

  it('finds the running maintenance by filter, shows what to do, and resumes it through the signal dialog', async () => {
    const id = `maintenance-webui-${t.id}`;
    const handle = await client.workflow.start('maintenance', {
      taskQueue: config.taskQueue,
      workflowId: id,
      args: [{ reason: 'browser test', editTimeout: '1h' }],
      staticSummary: 'Maintenance: browser test',
    });
    await eventually(async () => (await handle.query(statusQuery)).phase === 'edit', 60_000, 'maintenance to wait for edits');

    // The list, filtered by the procedure's search attributes: typed into the query box as an
    // operator would ("all running maintenance"), then "everything waiting for a person".
    const row = page.getByRole('link', { name: id, exact: true });
    const filter = async (query: string) => {
      await page.goto(`${ui}/namespaces/default/workflows`);
      await page.getByTestId('toggle-manual-query').click();
      const box = page.getByTestId('manual-search-input');
      await box.fill(query);
      await box.press('Enter');
      // Visibility is eventually consistent: search again until the row shows.
      await eventually(async () => {
        if (await row.isVisible()) return true;
        await box.press('Enter');
        await row.waitFor({ timeout: 2000 }).catch(() => undefined);
        return row.isVisible();
      }, 60_000, `the list filtered by ${query} to show ${id}`);
      expect(new URL(page.url()).searchParams.get('query')).toBe(query); // the filter is in the URL: bookmarkable
    };
    await filter('AtlasProcedure = "maintenance" AND ExecutionStatus = "Running"');
    await shot('1-list-filtered');
    await filter('AtlasWaitingFor IS NOT NULL AND ExecutionStatus = "Running"');
    await shot('1b-list-waiting-for-a-person');
    await row.click();

    // Current details: the Markdown the procedure keeps current, with the exact resume command.
    await page.getByTestId('user-metadata-tab').click();
    const details = await eventually(async () => {
      const text = await currentDetails();
      return text.includes('Edit now') ? text : undefined;
    }, 60_000, 'the current details');
    expect(details).toContain('maintenance: edit');
    expect(details).toContain(`atlas-ops maintenance resume ${id}`);
    expect(await frameText('overrideTheme=primary')).toContain('Maintenance: browser test'); // the static summary
    await shot('2-current-details');

    // Activity and timer summaries are on the history events.
    await page.getByTestId('history-tab').click();
    await eventually(async () => (await page.getByText('maintenance · snapshot · step "snapshot"').count()) > 0, 60_000, 'the snapshot activity summary');
    await shot('3-history-summaries');

    // Resume through the UI's signal dialog.
    await page.getByRole('button', { name: 'More Actions' }).click();
    await page.getByRole('menuitem', { name: 'Send a Signal' }).click();
    const dialog = page.getByRole('dialog', { name: 'Send a Signal' });
    await dialog.getByTestId('signal-select-button').click();
    await dialog.getByRole('option', { name: 'resume', exact: true }).click();
    await typeJson(dialog, '{"by": "web-ui-operator", "note": "fixed a typo in task 7"}');
    await shot('4-signal-dialog');
    await dialog.getByTestId('confirm-modal-button').click();

    const result = (await handle.result()) as MaintenanceResult;
    expect(result.outcome).toBe('completed');
    expect(result.resumedBy).toBe('web-ui-operator');
    expect(result.note).toBe('fixed a typo in task 7');
    expect(result.unpausedSchedules).toEqual(result.pausedSchedules);

    // The page shows it completed, with its final details.
    await page.goto(`${workflowPage(id)}`);
    await page.getByText('Completed', { exact: true }).first().waitFor();
    await page.getByTestId('user-metadata-tab').click();
    await eventually(async () => (await currentDetails()).includes('maintenance: completed'), 60_000, 'final details');
    await shot('5-completed');
  });

  it('starts a procedure from the start-workflow form', async () => {
    // healthCheck once it is registered; until then maintenance proves the form works.
    const type = registeredWorkflowTypes().has('healthCheck') ? 'healthCheck' : 'maintenance';
    const id = `${type}-from-form-${t.id}`;
    await page.goto(`${ui}/namespaces/default/workflows/start-workflow`);
    await page.locator('#workflowId').fill(id);
    await page.locator('#taskQueue').fill(config.taskQueue);
    await page.locator('#workflowType').fill(type);
    await typeJson(page, type === 'maintenance' ? '{"reason": "started from the Web UI form", "editTimeout": "1h"}' : '{}');
    await shot('6-start-form');
    await page.getByTestId('start-workflow-button').click();

    const handle = client.workflow.getHandle(id);
    // The UI starts it asynchronously after the click: wait until the server has it.
    await eventually(() => handle.describe().then(() => true, () => false), 60_000, 'the form-started workflow to exist');
    if (type === 'maintenance') {
      await eventually(async () => (await handle.query(statusQuery)).phase === 'edit', 60_000, 'the form-started maintenance to wait for edits');
      const d = await handle.describe();
      expect(d.searchAttributes.AtlasProcedure).toEqual(['maintenance']);
      await handle.signal('abort', { by: 'web-ui-test', note: 'only proving the form' });
      const result = (await handle.result()) as MaintenanceResult;
      expect(result.outcome).toBe('aborted');
      expect(result.reason).toBe('started from the Web UI form');
    } else {
      const result = (await handle.result()) as { outcome?: string };
      expect(result.outcome ?? 'completed').not.toBe('failed');
    }
    await page.goto(workflowPage(id));
    await page.getByText('Completed', { exact: true }).first().waitFor();
    await shot('7-form-started-completed');
  });

  it('fails a start with wrong JSON input at once, naming the field', async () => {
    const id = `maintenance-bad-input-${t.id}`;
    await page.goto(`${ui}/namespaces/default/workflows/start-workflow`);
    await page.locator('#workflowId').fill(id);
    await page.locator('#taskQueue').fill(config.taskQueue);
    await page.locator('#workflowType').fill('maintenance');
    await typeJson(page, '{"editTimeout": "soon"}');
    await page.getByTestId('start-workflow-button').click();

    const handle = client.workflow.getHandle(id);
    // The UI starts it asynchronously after the click: wait until the server has it.
    await eventually(() => handle.describe().then(() => true, () => false), 60_000, 'the form-started workflow to exist');
    await eventually(() => handle.describe(), 60_000, 'the workflow started from the form');
    const err = await handle.result().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const cause = (err as WorkflowFailedError).cause;
    expect(cause).toBeInstanceOf(ApplicationFailure);
    expect((cause as ApplicationFailure).type).toBe('InvalidInput');
    expect(cause!.message).toMatch(/^editTimeout: /);
    // At once: its first workflow task failed the workflow (no retrying task, no activity ran). A
    // task that timed out on a loaded machine (3 more events, its 10 s) is the machine, not the
    // validation; and the first task can wait seconds for a slot (20 s, as the input fault table).
    const d = await handle.describe();
    expect(d.status.name).toBe('FAILED');
    const events = (await handle.fetchHistory()).events ?? [];
    expect(d.closeTime!.getTime() - d.startTime.getTime()).toBeLessThan(20_000 + lostTaskSlackMs(events));
    expect(d.historyLength - 3 * lostWorkflowTasks(events)).toBeLessThanOrEqual(5);

    await page.goto(workflowPage(id));
    await page.getByText('Failed', { exact: true }).first().waitFor();
    await eventually(async () => (await page.getByText(/editTimeout: /).count()) > 0, 60_000, 'the failure message on the page');
    await shot('8-bad-input-failed');
  });
});
