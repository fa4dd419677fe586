// Finds a Go-built tool the project runs (the Temporal CLI, Litestream), building it with
// `go install` when nothing else is available. Plain JavaScript: it runs from `npm install`,
// before anything else of the project can. Each tool's script (install-<tool>.js) pins its
// version and module and calls `goTool(spec)`; the search order and the build live here only.
//
// Order: $<ENV_VAR>, then the binary on PATH, then the cached build outside the clone
// (~/.cache/atlas-ops/<name>-<version>/), else `go install` into that cache. A tool whose binary
// has a generic name (the Temporal server and the UI server are both `server`) sets
// `searchPath: false`: a `server` on PATH is not evidence of anything.
'use strict';

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync, spawn } = require('node:child_process');

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

/**
 * spec: { title ('the Temporal CLI'), name (cache folder prefix), binary, envVar, module, version,
 *         versionArgs, installHint (how to get it without Go), npmScript (rebuilds it),
 *         searchPath (default true: look for `binary` on PATH) }
 */
/** What atlas-ops keeps outside the clone, so that it outlives `npm ci` on CI: built tools, test timings. */
function cacheRoot() {
  return path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'atlas-ops');
}

function goTool(spec) {
  function cacheDir() {
    return path.join(cacheRoot(), `${spec.name}-${spec.version}`);
  }

  /** Returns { path, source } of a usable binary, or undefined when it must be built. */
  function find() {
    const fromEnv = process.env[spec.envVar];
    if (fromEnv) {
      if (!isExecutable(fromEnv)) throw new Error(`${spec.envVar}=${fromEnv} is not an executable file`);
      return { path: fromEnv, source: spec.envVar };
    }
    const fromPath = spec.searchPath === false ? undefined : onPath(spec.binary);
    if (fromPath) return { path: fromPath, source: 'PATH' };
    const cached = path.join(cacheDir(), spec.binary);
    if (isExecutable(cached)) return { path: cached, source: 'cache' };
    return undefined;
  }

  const title = spec.title[0].toUpperCase() + spec.title.slice(1);
  const noGoHelp = [
    `${title} was not found and Go is not installed to build it.`,
    `Install one of:`,
    `  - ${spec.installHint} and put \`${spec.binary}\` on PATH, or set ${spec.envVar}=/path/to/${spec.binary};`,
    `  - Go 1.24+, then run \`npm run ${spec.npmScript}\` (builds ${spec.module}@${spec.version}).`,
  ].join('\n');

  /** Builds the binary into the cache with `go install`, streaming Go's progress to stderr. */
  function build() {
    const go = onPath('go');
    if (!go) return Promise.reject(new Error(noGoHelp));
    const dir = cacheDir();
    fs.mkdirSync(dir, { recursive: true });
    const target = `${spec.module}@${spec.version}`;
    process.stderr.write(`atlas-ops: building ${spec.title} (${target}) into ${dir}; this takes a few minutes once.\n`);
    const started = Date.now();
    return new Promise((resolve, reject) => {
      // -x would be too noisy; Go prints "go: downloading …" lines, which are the progress we show.
      const child = spawn(go, ['install', target], {
        env: { ...process.env, GOBIN: dir, GOFLAGS: '-mod=mod' },
        stdio: ['ignore', 'inherit', 'inherit'],
      });
      const ticker = setInterval(() => {
        process.stderr.write(`atlas-ops: still building ${spec.title} (${Math.round((Date.now() - started) / 1000)} s)\n`);
      }, 30_000);
      child.on('error', (err) => {
        clearInterval(ticker);
        reject(new Error(`could not run go: ${err.message}`));
      });
      child.on('exit', (code) => {
        clearInterval(ticker);
        const built = path.join(dir, spec.binary);
        if (code === 0 && isExecutable(built)) {
          process.stderr.write(`atlas-ops: ${spec.title} ready at ${built} (${Math.round((Date.now() - started) / 1000)} s)\n`);
          resolve({ path: built, source: 'built' });
        } else {
          reject(new Error(
            `go install ${target} failed (exit ${code}). If Go says a module was refused by the module proxy, ` +
            `that module cannot be had here: install ${spec.title} another way and set ${spec.envVar}.`,
          ));
        }
      });
    });
  }

  /** Finds the binary, building it when missing. */
  async function ensure() {
    return find() || build();
  }

  function version(file) {
    const out = spawnSync(file, spec.versionArgs, { encoding: 'utf8' });
    return (out.stdout || '').trim();
  }

  /** The script's command line: find or build, print what was found; --if-missing never fails npm install. */
  function main() {
    return ensure().then(
      (tool) => {
        process.stderr.write(`atlas-ops: ${spec.title} (${tool.source}): ${tool.path} — ${version(tool.path)}\n`);
      },
      (err) => {
        process.stderr.write(`atlas-ops: ${err.message}\n`);
        // From `npm install` a missing tool must not break the install: the commands and tests
        // that need it look again and stop there with the same message.
        process.exit(process.argv.includes('--if-missing') ? 0 : 1);
      },
    );
  }

  return { spec, find, ensure, version, cacheDir, main };
}

module.exports = { goTool, cacheRoot };
