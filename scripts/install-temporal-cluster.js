#!/usr/bin/env node
// Finds the parts of a self-hosted Temporal cluster (docs/architecture.md#deployment-shapes): the
// Temporal server (frontend, history, matching and worker services in one binary), its SQL schema
// tool (temporal-sql-tool) and the Web UI server, building each with `go install` when nothing else
// is available (search order: scripts/go-tool-installer.js). The pinned versions live here and only
// here: the cluster's settings table (src/cluster/settings.ts) and docker-compose.yml take them from it.
'use strict';

const { goTool } = require('./go-tool-installer');

// v1.29.1: its go.mod has no replace directive, and it builds with this machine's Go.
const TEMPORAL_SERVER_VERSION = 'v1.29.1';
// v2.42.1: the UI the Temporal CLI embeds; newer ones need a newer Go.
const TEMPORAL_UI_VERSION = 'v2.42.1';

const server = goTool({
  title: 'the Temporal server',
  name: 'temporal-server',
  binary: 'server',
  searchPath: false,
  envVar: 'TEMPORAL_SERVER_BIN',
  module: 'go.temporal.io/server/cmd/server',
  version: TEMPORAL_SERVER_VERSION,
  versionArgs: ['--version'],
  installHint: 'the Temporal server (https://github.com/temporalio/temporal/releases)',
  npmScript: 'cluster:install',
});

const sqlTool = goTool({
  title: 'temporal-sql-tool',
  name: 'temporal-sql-tool',
  binary: 'sql',
  searchPath: false,
  envVar: 'TEMPORAL_SQL_TOOL_BIN',
  module: 'go.temporal.io/server/cmd/tools/sql',
  version: TEMPORAL_SERVER_VERSION,
  versionArgs: ['--version'],
  installHint: 'temporal-sql-tool (from the Temporal server release archive)',
  npmScript: 'cluster:install',
});

const uiServer = goTool({
  title: 'the Temporal UI server',
  name: 'temporal-ui-server',
  binary: 'server',
  searchPath: false,
  envVar: 'TEMPORAL_UI_SERVER_BIN',
  module: 'github.com/temporalio/ui-server/v2/cmd/server',
  version: TEMPORAL_UI_VERSION,
  versionArgs: ['--version'],
  installHint: 'the Temporal UI server (https://github.com/temporalio/ui-server/releases)',
  npmScript: 'cluster:install',
});

const TOOLS = { server, sqlTool, uiServer };

/** Finds or builds all three, one after the other (two go builds at once would only compete for the cores). */
async function ensureAll() {
  const found = {};
  for (const [key, tool] of Object.entries(TOOLS)) found[key] = await tool.ensure();
  return found;
}

/**
 * The directory of the server's Go module in the module cache (it holds schema/postgresql/v12),
 * or undefined when the module was never downloaded here.
 */
function serverModuleDir() {
  const { spawnSync } = require('node:child_process');
  const path = require('node:path');
  const fs = require('node:fs');
  const out = spawnSync('go', ['env', 'GOMODCACHE'], { encoding: 'utf8' });
  const cache = (out.stdout || '').trim();
  if (out.status !== 0 || !cache) return undefined;
  const dir = path.join(cache, 'go.temporal.io', `server@${TEMPORAL_SERVER_VERSION}`);
  return fs.existsSync(dir) ? dir : undefined;
}

module.exports = { TEMPORAL_SERVER_VERSION, TEMPORAL_UI_VERSION, TOOLS, ensureAll, serverModuleDir };

if (require.main === module) {
  (async () => {
    for (const tool of Object.values(TOOLS)) await tool.main();
  })();
}
