// Security (docs/safety.md#secrets-stay-out-of-history, issue 7): key material from a real-looking service-account file and an
// OCI API key never appears in any workflow history (every workflow on the test's task queue,
// payloads decoded), log, report, CLI output or error message, also when things fail; the emulators
// listen on 127.0.0.1 only; names taken from input cannot leave the Atlas home.
// The keys are generated at test time: no key material is committed.
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { atlasPaths } from '../src/paths';
import { decisionSignal, statusQuery } from '../workflows/lib/procedure';
import { useAtlas } from './helpers/atlas';
import { eventually, runCli, uid, type CliResult } from './helpers/env';
import { fetchDecodedHistory } from './helpers/history';
import { installIssuedKey, secretPieces } from './helpers/keys';

const VOLUME = 'ocid1.volume.oc1.emulator.security';

let sheetsKey: { file: string; pem: string; json: string };
let ociKey: { file: string; pem: string };
/** Every other private key the test made (the emulator-issued Sheets keys before and after rotation). */
const otherPems: string[] = [];

function rsaPem(): string {
  return crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
}

function assertNoSecret(text: string, where: string): void {
  for (const piece of [sheetsKey.pem, ociKey.pem, ...otherPems].flatMap(secretPieces)) {
    expect(text.includes(piece), `key material in ${where}`).toBe(false);
  }
  expect(text.includes('PRIVATE KEY-----'), `a PEM header in ${where}`).toBe(false);
}

const filesUnder = (dir: string): string[] =>
  fs.existsSync(dir) ? fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(path.join(dir, e.name)) : [path.join(dir, e.name)])) : [];

const cliOutputs: CliResult[] = [];
async function cli(args: string[]): Promise<CliResult> {
  const r = await runCli(t, args, childEnv());
  cliOutputs.push(r);
  return r;
}

/** Workflows this file started itself: the visibility list must include them (it lags behind). */
const started: string[] = [];
function run(type: string, input: Record<string, unknown> = {}) {
  const workflowId = `sec-${type}-${uid()}`;
  started.push(workflowId);
  return t.client.workflow.execute(type, { taskQueue: t.config.taskQueue, workflowId, args: [input] }).catch((e: unknown) => e);
}

/** The OCI CLI-style configuration directory of the test's home. */
const ociDir = (home: string) => path.join(atlasPaths(home).configDir, 'oci');

const t = useAtlas({
  oci: { volumes: [VOLUME], availableAfterMs: 200, pollInterval: 100 },
  prepare: writeKeys,
  sheets: () => ({ credentials: sheetsKey.file }),
  workerConfig: (config) => ({ ...config, oci: { ...config.oci, configFile: path.join(ociDir(t.home), 'config') } }),
  worker: true,
});

/** What a CLI child process needs to reach the same emulators with the same keys. */
const childEnv = (): NodeJS.ProcessEnv => ({
  ...t.sheets.env,
  ATLAS_SHEETS_CREDENTIALS: sheetsKey.file,
  ATLAS_OCI_CONFIG: path.join(ociDir(t.home), 'config'),
  ATLAS_OCI_ENDPOINT: t.oci.url,
  ATLAS_OCI_VOLUME_ID: VOLUME,
  ATLAS_OCI_POLL_INTERVAL: '100ms',
});

function writeKeys(): void {
  const paths = atlasPaths(t.home);
  const sheetsPem = rsaPem();
  const json = JSON.stringify({
    type: 'service_account', project_id: 'atlas-test', private_key_id: crypto.randomBytes(20).toString('hex'), private_key: sheetsPem,
    client_email: 'atlas-ops@atlas-test.iam.gserviceaccount.com', token_uri: 'https://oauth2.googleapis.com/token',
  });
  sheetsKey = { file: path.join(paths.configDir, 'sheets-credentials.json'), pem: sheetsPem, json };
  fs.writeFileSync(sheetsKey.file, json, { mode: 0o600 });
  fs.chmodSync(sheetsKey.file, 0o600);
  // An OCI CLI-style config and API key, as `oci setup config` leaves them.
  const dir = ociDir(t.home);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  ociKey = { file: path.join(dir, 'oci_api_key.pem'), pem: rsaPem() };
  fs.writeFileSync(ociKey.file, ociKey.pem, { mode: 0o600 });
  fs.writeFileSync(path.join(dir, 'config'), `[DEFAULT]\nuser=ocid1.user.oc1..test\nfingerprint=aa:bb\ntenancy=ocid1.tenancy.oc1..test\nregion=eu-frankfurt-1\nkey_file=${ociKey.file}\n`, { mode: 0o600 });
}

describe('secrets never leave their files', { timeout: 150_000 }, () => {
  it('not in any workflow history, log, report, CLI output or error message — also when Sheets refuses the key', async () => {
    const paths = atlasPaths(t.home);
    // The procedures that touch credentials, through the API and through the CLI.
    expect(await run('sheetsExport', { full: true })).toMatchObject({ direction: 'export' });
    expect(await run('sheetsImport', { forceCheck: true })).toMatchObject({ direction: 'import' });
    expect((await cli(['sync', 'export'])).code).toBe(0);
    expect((await cli(['doctor', 'sheets', '--permissions'])).code).toBe(0);
    await cli(['--json', 'health']);
    await cli(['report', 'security']);
    await run('healthCheck', { deep: true });
    await run('backup', { oci: true, reason: 'security test' });

    // Key rotation with a key the emulator's IAM issued: a create whose answer has no key material
    // (the step fails, the operator retries), then a full rotation.
    const issued = installIssuedKey(t.sheets.emu, 'atlas-ops@atlas-test.iam.gserviceaccount.com', sheetsKey.file);
    otherPems.push(issued.private_key!);
    t.sheets.emu.iam.nextCreates.push({ omitPrivateKeyData: true });
    const handle = await t.client.workflow.start('keyRotation', { taskQueue: t.config.taskQueue, workflowId: `sec-keyRotation-${uid()}`, args: [{ reminderInterval: '1m' }] });
    await eventually(async () => (await handle.query(statusQuery)).failedStep, 60_000, 'the refused create');
    await handle.signal(decisionSignal, { decision: 'retry', by: 'security-test' });
    expect(await handle.result()).toMatchObject({ outcome: 'completed', account: 'atlas-ops@atlas-test.iam.gserviceaccount.com' });
    const rotated = fs.readFileSync(sheetsKey.file, 'utf8');
    otherPems.push((JSON.parse(rotated) as { private_key: string }).private_key);
    sheetsKey.json = rotated;

    // Failures carry messages: the key refused (401), then a damaged credentials file.
    t.sheets.emu.fault({ kind: 401, count: Infinity });
    const refused = (await run('sheetsExport')) as Error;
    expect(String((refused as { cause?: { type?: string } }).cause?.type)).toBe('SheetsAuthError');
    t.sheets.emu.clearFaults();
    fs.writeFileSync(sheetsKey.file, sheetsKey.json.slice(0, Math.floor(sheetsKey.json.length * 0.6)), { mode: 0o600 });
    const damaged = (await run('sheetsImport', { forceCheck: true })) as Error;
    expect(String((damaged as { cause?: { type?: string } }).cause?.type)).toBe('SheetsCredentialsError');
    const doctor = await cli(['doctor', 'sheets']);
    expect(doctor.code).not.toBe(0);
    fs.writeFileSync(sheetsKey.file, sheetsKey.json, { mode: 0o600 });
    const errorMessages = [refused, damaged].map((e) => `${e.message} ${(e as { cause?: Error }).cause?.message ?? ''}`);

    // Every workflow of this test's task queue, its whole history.
    started.push(handle.workflowId);
    const ids = await eventually(async () => {
      const listed: string[] = [];
      for await (const w of t.client.workflow.list({ query: `TaskQueue = '${t.config.taskQueue}'` })) listed.push(w.workflowId);
      return started.every((id) => listed.includes(id)) ? listed : undefined;
    }, 60_000, 'every workflow of this test to be listed');
    expect(ids.length).toBeGreaterThanOrEqual(9);
    let sawEmail = false;
    for (const id of ids) {
      const history = await fetchDecodedHistory(t.client, id);
      sawEmail ||= history.includes('atlas-ops@atlas-test.iam.gserviceaccount.com');
      assertNoSecret(history, `the history of ${id}`);
    }
    // The search can find things: the account name (not a secret) is in the keyRotation history.
    expect(sawEmail).toBe(true);

    const files = [...filesUnder(paths.logsDir), ...filesUnder(paths.reportsDir), paths.opsDb];
    expect(files.some((f) => f.includes(`${path.sep}reports${path.sep}`))).toBe(true);
    for (const f of files) assertNoSecret(fs.readFileSync(f).toString('latin1'), f);
    for (const [i, r] of cliOutputs.entries()) assertNoSecret(r.stdout + r.stderr, `CLI output #${i}`);
    for (const m of errorMessages) assertNoSecret(m, 'an error message');
  });
});

describe('network exposure', () => {
  const external = Object.values(os.networkInterfaces()).flat().find((a) => a && a.family === 'IPv4' && !a.internal)?.address;
  const reachable = (host: string, port: number) => new Promise<boolean>((resolve) => {
    const c = net.connect({ host, port });
    c.once('connect', () => (c.destroy(), resolve(true)));
    c.once('error', () => resolve(false));
  });

  it('the Sheets and OCI emulators answer on 127.0.0.1 and refuse other addresses of this host', async () => {
    for (const url of [t.sheets.emu.url, t.oci.url]) {
      const { hostname, port } = new URL(url);
      expect(hostname).toBe('127.0.0.1');
      expect(await reachable('127.0.0.1', Number(port)), url).toBe(true);
      if (external) expect(await reachable(external, Number(port)), `${url} via ${external}`).toBe(false);
    }
  });
});

describe('paths taken from input stay inside the Atlas home', () => {
  it('restore from the Web UI refuses a target or backup outside data/ and backups/, changing nothing', async () => {
    const paths = atlasPaths(t.home);
    const before = fs.readFileSync(paths.atlasDb);
    for (const input of [{ backup: '/etc/passwd' }, { backup: 'atlas_20260101-000000.db', target: '../atlas.db' }, { backup: 'atlas_20260101-000000.db', target: '/tmp/atlas.db' }, { backup: 'atlas_20260101-000000.db', target: 'sub/atlas.db' }]) {
      const err = await run('restore', input);
      const cause = (err as { cause?: { type?: string; message: string } }).cause;
      expect(cause?.type, JSON.stringify(input)).toBe('InvalidInput');
      expect(cause?.message).toMatch(input.target ? /^target: / : /^backup: /);
    }
    expect(fs.readFileSync(paths.atlasDb).equals(before)).toBe(true);
    expect(fs.existsSync('/tmp/atlas.db') && fs.statSync('/tmp/atlas.db').mtimeMs > Date.now() - 60_000).toBe(false);
  });

  it('a report name cannot name a path: the CLI refuses it and writes nothing outside reports/', async () => {
    const paths = atlasPaths(t.home);
    for (const name of ['../../escape', '/tmp/escape', 'security/../../escape']) {
      const r = await cli(['report', name]);
      expect(r.code, name).toBe(2);
      expect(r.stderr).toMatch(/report|name/i);
    }
    expect(fs.readdirSync(t.home).filter((f) => f.startsWith('escape'))).toEqual([]);
    expect(fs.readdirSync(path.dirname(t.home)).filter((f) => f.startsWith('escape'))).toEqual([]);
    expect(filesUnder(paths.reportsDir).every((f) => f.startsWith(paths.reportsDir + path.sep))).toBe(true);
  });
});
