#!/usr/bin/env node
// Finds the official Temporal CLI (which embeds the dev server and Web UI), building it with
// `go install` when nothing else is available (search order: scripts/go-tool-installer.js).
// The pinned version lives here and only here.
'use strict';

const { goTool } = require('./go-tool-installer');

// v1.5.1 is the newest release whose go.mod `go install` accepts (later ones use a replace directive).
const TEMPORAL_CLI_VERSION = 'v1.5.1';

const tool = goTool({
  title: 'the Temporal CLI',
  name: 'temporal',
  binary: 'temporal',
  envVar: 'TEMPORAL_CLI',
  module: 'github.com/temporalio/cli/cmd/temporal',
  version: TEMPORAL_CLI_VERSION,
  versionArgs: ['--version'],
  installHint: 'the Temporal CLI (https://docs.temporal.io/cli)',
  npmScript: 'temporal:install',
});

module.exports = {
  TEMPORAL_CLI_VERSION,
  findTemporalCli: tool.find,
  ensureTemporalCli: tool.ensure,
  cliVersion: tool.version,
  cacheDir: tool.cacheDir,
};

if (require.main === module) tool.main();
