// Mutual TLS between atlas-ops and a source-built cluster (`atlas-ops cluster up --tls`): the
// README's TLS settings (TEMPORAL_TLS_CLIENT_CERT_PATH, TEMPORAL_TLS_CLIENT_KEY_PATH,
// TEMPORAL_TLS_SERVER_CA_CERT_PATH, TEMPORAL_TLS_SERVER_NAME) carry the worker and the CLI through a
// backup; a wrong CA, no client certificate or a missing certificate file fail with an error naming
// the file. The CA and the certificates are made here with openssl. Skipped where the cluster
// cannot be had (see test/cluster.test.ts).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { clusterDown, clusterStatus, frontendAddress, readState } from '../src/cluster/cluster';
import { ensureHome } from '../src/home';
import { atlasPaths } from '../src/paths';
import { REPO, eventually, runCli, uid } from './helpers/env';
import { clusterUnavailable } from './helpers/cluster';

const why = clusterUnavailable() ?? (spawnSync('openssl', ['version']).status === 0 ? undefined : 'openssl is missing');
if (why) console.warn(`cluster TLS test skipped: ${why}`);

function openssl(cwd: string, args: string[]): void {
  const r = spawnSync('openssl', args, { cwd, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl ${args[0]} failed: ${r.stderr}`);
}

/** A CA (`<name>.pem`, `<name>-key.pem`). */
function makeCa(dir: string, name: string): void {
  openssl(dir, ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}-key.pem`, '-out', `${name}.pem`, '-days', '2', '-subj', `/CN=${name}`]);
}

/** A certificate `<name>.pem` signed by CA `ca`, for server and client use (the services present theirs to the frontend too). */
function makeCert(dir: string, ca: string, name: string): void {
  fs.writeFileSync(path.join(dir, `${name}.ext`), 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n');
  openssl(dir, ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}-key.pem`, '-out', `${name}.csr`, '-subj', `/CN=${name}`]);
  openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}-key.pem`, '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', '-extfile', `${name}.ext`]);
}

describe.skipIf(why)('mutual TLS to a source-built cluster', () => {
  let dir: string;
  let certs: string;
  let home: string;
  let env: NodeJS.ProcessEnv;
  let worker: ChildProcess | undefined;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'atlas-cluster-tls-'));
    certs = fs.mkdtempSync(path.join(os.tmpdir(), 'atlas-certs-'));
    makeCa(certs, 'ca');
    makeCa(certs, 'wrong-ca');
    for (const name of ['server', 'ui', 'atlas-worker']) makeCert(certs, 'ca', name);
    const up = await runCli(undefined, ['cluster', 'up', '--dir', dir, '--pick-ports', '--tls', certs], {}, 600_000);
    if (up.code !== 0) throw new Error(`cluster up --tls failed: ${up.stderr}`);
    const id = uid();
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'atlas-home-tls-'));
    ensureHome(home, { demo: true, seedTasks: 10 });
    // The README's settings, nothing else.
    env = {
      ATLAS_HOME: home,
      ATLAS_HOST: `tls-${id}`,
      ATLAS_TASK_QUEUE: `atlas-tls-${id}`,
      ATLAS_SCHEDULE_PREFIX: `t${id}-`,
      ATLAS_WORKFLOW_BUNDLE: inject('workflowBundlePath'),
      TEMPORAL_ADDRESS: frontendAddress(readState(dir)!),
      TEMPORAL_TLS_CLIENT_CERT_PATH: path.join(certs, 'atlas-worker.pem'),
      TEMPORAL_TLS_CLIENT_KEY_PATH: path.join(certs, 'atlas-worker-key.pem'),
      TEMPORAL_TLS_SERVER_CA_CERT_PATH: path.join(certs, 'ca.pem'),
      TEMPORAL_TLS_SERVER_NAME: 'localhost',
    };
  }, 900_000);

  afterAll(async () => {
    worker?.kill('SIGTERM');
    if (dir) await clusterDown(dir);
    for (const d of [dir, certs, home]) if (d && !process.env.ATLAS_KEEP_TEST_FILES) fs.rmSync(d, { recursive: true, force: true });
  }, 120_000);

  it('the worker and the CLI connect with the README\'s TLS settings: a backup runs to the end', async () => {
    expect(clusterStatus(dir).processes.every((p) => p.state === 'running')).toBe(true);
    const log = fs.openSync(path.join(home, 'logs', 'worker-tls.log'), 'a');
    worker = spawn(process.execPath, [path.join(REPO, 'bin', 'atlas-ops.js'), 'worker'], { env: { ...process.env, ...env }, stdio: ['ignore', log, log] });
    fs.closeSync(log);
    const backups = fs.readdirSync(atlasPaths(home).backupsDir).length;
    // The worker needs a moment to poll; the CLI's start does not wait for it.
    const r = await runCli(undefined, ['--json', 'backup', '--wait'], env, 180_000);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    await eventually(() => fs.readdirSync(atlasPaths(home).backupsDir).length > backups, 60_000, 'a backup in the home');
  }, 240_000);

  it('a CA that did not sign the server\'s certificate fails naming the CA file', async () => {
    const wrong = path.join(certs, 'wrong-ca.pem');
    const r = await runCli(undefined, ['list'], { ...env, TEMPORAL_TLS_SERVER_CA_CERT_PATH: wrong });
    expect(r.code).toBe(4);
    expect(r.stderr).toContain(`cannot reach the Temporal server at ${env.TEMPORAL_ADDRESS}`);
    expect(r.stderr).toContain(`temporal.tlsCa (${wrong})`);
  });

  it('no client certificate fails saying so, and naming the setting', async () => {
    const r = await runCli(undefined, ['list'], { ...env, TEMPORAL_TLS_CLIENT_CERT_PATH: '', TEMPORAL_TLS_CLIENT_KEY_PATH: '' });
    expect(r.code).toBe(4);
    expect(r.stderr).toContain('no client certificate (set temporal.tlsCert and temporal.tlsKey if the server requires mutual TLS)');
  });

  it('a client certificate file that is not there fails naming the file (exit 2)', async () => {
    const gone = path.join(certs, 'no-such-client.pem');
    const r = await runCli(undefined, ['list'], { ...env, TEMPORAL_TLS_CLIENT_CERT_PATH: gone });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`temporal.tlsCert: cannot read ${gone} (ENOENT)`);
  });
});
