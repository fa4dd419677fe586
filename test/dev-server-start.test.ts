// The dev server's start against the bind race (src/temporal/dev-server.ts): `temporal` is replaced
// by test/fixtures/racing-temporal.sh, which fails its first starts exactly as the real server does
// (a fatal "bind: address already in use" or a panic, then it hangs) and then runs the real CLI.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AddressInUseError, allocatePort, allocatePorts } from '../src/ports';
import { findTemporalCli } from '../src/temporal/cli-binary';
import { startDevServer, startDevServerOnPickedPorts, type DevServer } from '../src/temporal/dev-server';
import { REPO, runCli } from './helpers/env';

const FAKE = path.join(REPO, 'test', 'fixtures', 'racing-temporal.sh');
let dir: string;
let count: string;
let real: string;
let server: DevServer | undefined;
const saved = { ...process.env };

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'atlas-dev-race-'));
  const cli = findTemporalCli();
  if (!cli) throw new Error('the Temporal CLI is not installed (npm install builds it)');
  real = cli.path;
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
afterEach(async () => {
  await server?.stop();
  server = undefined;
  process.env = { ...saved };
});

let run = 0;
/** Makes the next starts use the racing stand-in: `fails` failing starts of the given kind, then the real CLI. */
function race(mode: 'own' | 'internal' | 'panic', fails = 1): NodeJS.ProcessEnv {
  count = path.join(dir, `count-${++run}`);
  const env = { TEMPORAL_CLI: FAKE, RACE_REAL: real, RACE_COUNT: count, RACE_MODE: mode, RACE_FAILS: String(fails) };
  Object.assign(process.env, env);
  return env;
}
const starts = () => Number(fs.readFileSync(count, 'utf8'));
const failedPorts = () => fs.readFileSync(`${count}.ports`, 'utf8').trim().split('\n').map(Number);
const dbFile = () => path.join(dir, `temporal-${run}.db`);

describe('the dev server start and the bind race', () => {
  it('on ports it picked: picks new ones when its own port is lost, and comes up', async () => {
    race('own');
    const log: string[] = [];
    server = await startDevServerOnPickedPorts({ headless: true, dbFile: dbFile(), log: (l) => log.push(l) });
    expect(starts()).toBe(2);
    const [lost] = failedPorts();
    expect(server.address).not.toBe(`127.0.0.1:${lost}`);
    expect(log).toHaveLength(1);
    expect(log[0]).toBe(
      `the Temporal dev server on ports ${lost}: --port ${lost}: already in use on 127.0.0.1 (another Temporal server? pick another port); picking new ports (attempt 2 of 4)`,
    );
  });

  it('on a port the operator named: fails at once, naming the port, without a second start', async () => {
    race('own', 5);
    const port = await allocatePort();
    const err = await startDevServer({ port, headless: true, dbFile: dbFile() }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AddressInUseError);
    expect((err as Error).message).toBe(`--port ${port}: already in use on 127.0.0.1 (another Temporal server? pick another port)`);
    expect(starts()).toBe(1);
  });

  it('on one of its internal ports: starts again on the ports it was given', async () => {
    race('internal');
    const port = await allocatePort();
    const log: string[] = [];
    server = await startDevServer({ port, headless: true, dbFile: dbFile(), log: (l) => log.push(l) });
    expect(server.address).toBe(`127.0.0.1:${port}`);
    expect(starts()).toBe(2);
    expect(log[0]).toMatch(/^the Temporal dev server failed to start: .*127\.0\.0\.1:45123: bind: address already in use.*: a port the server did not get from the caller, starting it again \(attempt 2 of 3\)$/);
  });

  it('a panic at start fails at once with the server\'s own line, not after the 90 s wait', async () => {
    race('panic', 5);
    const started = Date.now();
    const err = await startDevServer({ port: await allocatePort(), headless: true, dbFile: dbFile() }).catch((e: unknown) => e as Error);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toContain('the Temporal dev server failed to start: panic: runtime error: invalid memory address or nil pointer dereference');
    expect(starts()).toBe(1);
    // The stand-in hangs after its panic, as the real server did: only watching its output ends the wait.
    expect(Date.now() - started).toBeLessThan(60_000);
  });

  it('`atlas-ops dev` whose server dies at start exits 1 with the server\'s line, and leaves nothing running', async () => {
    const env = race('panic', 5);
    const [port, uiPort] = await allocatePorts(2);
    const home = path.join(dir, 'dev-home');
    const res = await runCli(undefined, ['--home', home, 'dev', '--port', String(port), '--ui-port', String(uiPort)], env, 80_000);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('the Temporal dev server failed to start: panic: runtime error: invalid memory address or nil pointer dereference');
    expect(starts()).toBe(1);
    // The stand-in was stopped: its `sleep` no longer holds anything, and a new start on the same ports works.
    race('own', 0);
    server = await startDevServer({ port, uiPort, headless: true, dbFile: dbFile() });
    expect(server.address).toBe(`127.0.0.1:${port}`);
  });
});
