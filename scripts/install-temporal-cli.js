#!/usr/bin/env node
// Finds the official Temporal CLI (which embeds the dev server and Web UI), building it with
// `go install` when nothing else is available. Plain JavaScript: it runs from `npm install`,
// before anything else of the project can.
//
// Order: $TEMPORAL_CLI, then `temporal` on PATH, then the cached build outside the clone,
// else `go install` into that cache. The pinned version lives here and only here.
'use strict';

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync, spawn } = require('node:child_process');

// v1.5.1 is the newest release whose go.mod `go install` accepts (later ones use a replace directive).
const TEMPORAL_CLI_VERSION = 'v1.5.1';
const TEMPORAL_CLI_MODULE = 'github.com/temporalio/cli/cmd/temporal';

function cacheDir() {
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'atlas-ops', `temporal-${TEMPORAL_CLI_VERSION}`);
}

function isExecutable(file) {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

function onPath(name) {
  for (const dir of (process.env.PATH || '').split(path.delimiter)) {
    if (dir && isExecutable(path.join(dir, name))) return path.join(dir, name);
  }
  return undefined;
}

/** Returns { path, source } of a usable CLI, or undefined when it must be built. */
function findTemporalCli() {
  const fromEnv = process.env.TEMPORAL_CLI;
  if (fromEnv) {
    if (!isExecutable(fromEnv)) throw new Error(`TEMPORAL_CLI=${fromEnv} is not an executable file`);
    return { path: fromEnv, source: 'TEMPORAL_CLI' };
  }
  const fromPath = onPath('temporal');
  if (fromPath) return { path: fromPath, source: 'PATH' };
  const cached = path.join(cacheDir(), 'temporal');
  if (isExecutable(cached)) return { path: cached, source: 'cache' };
  return undefined;
}

const NO_GO_HELP = [
  `The Temporal CLI was not found and Go is not installed to build it.`,
  `Install one of:`,
  `  - the Temporal CLI (https://docs.temporal.io/cli) and put \`temporal\` on PATH, or set TEMPORAL_CLI=/path/to/temporal;`,
  `  - Go 1.23+, then run \`npm run temporal:install\` (builds ${TEMPORAL_CLI_MODULE}@${TEMPORAL_CLI_VERSION}).`,
].join('\n');

/** Builds the CLI into the cache with `go install`, streaming Go's progress to stderr. */
function buildTemporalCli() {
  const go = onPath('go');
  if (!go) return Promise.reject(new Error(NO_GO_HELP));
  const dir = cacheDir();
  fs.mkdirSync(dir, { recursive: true });
  const target = `${TEMPORAL_CLI_MODULE}@${TEMPORAL_CLI_VERSION}`;
  process.stderr.write(`atlas-ops: building the Temporal CLI (${target}) into ${dir}; this takes a few minutes once.\n`);
  const started = Date.now();
  return new Promise((resolve, reject) => {
    // -x would be too noisy; Go prints "go: downloading …" lines, which are the progress we show.
    const child = spawn(go, ['install', target], {
      env: { ...process.env, GOBIN: dir, GOFLAGS: '-mod=mod' },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    const ticker = setInterval(() => {
      process.stderr.write(`atlas-ops: still building the Temporal CLI (${Math.round((Date.now() - started) / 1000)} s)\n`);
    }, 30_000);
    child.on('error', (err) => {
      clearInterval(ticker);
      reject(new Error(`could not run go: ${err.message}`));
    });
    child.on('exit', (code) => {
      clearInterval(ticker);
      const built = path.join(dir, 'temporal');
      if (code === 0 && isExecutable(built)) {
        process.stderr.write(`atlas-ops: Temporal CLI ready at ${built} (${Math.round((Date.now() - started) / 1000)} s)\n`);
        resolve({ path: built, source: 'built' });
      } else {
        reject(new Error(
          `go install ${target} failed (exit ${code}). If Go says a module was refused by the module proxy, ` +
          `that module cannot be had here: install the Temporal CLI another way and set TEMPORAL_CLI.`,
        ));
      }
    });
  });
}

/** Finds the CLI, building it when missing. */
async function ensureTemporalCli() {
  return findTemporalCli() || buildTemporalCli();
}

function cliVersion(file) {
  const out = spawnSync(file, ['--version'], { encoding: 'utf8' });
  return (out.stdout || '').trim();
}

module.exports = { TEMPORAL_CLI_VERSION, findTemporalCli, ensureTemporalCli, cliVersion, cacheDir };

if (require.main === module) {
  ensureTemporalCli().then(
    (cli) => {
      process.stderr.write(`atlas-ops: Temporal CLI (${cli.source}): ${cli.path} — ${cliVersion(cli.path)}\n`);
    },
    (err) => {
      process.stderr.write(`atlas-ops: ${err.message}\n`);
      // From `npm install` a missing CLI must not break the install: `npm start` and `npm test`
      // look again and stop there with the same message.
      process.exit(process.argv.includes('--if-missing') ? 0 : 1);
    },
  );
}
