#!/usr/bin/env node
// Finds Litestream, the replicator that streams atlas.db's WAL to object storage
// (docs/safety.md#continuous-replica), building it with `go install` when nothing else is
// available (search order: scripts/go-tool-installer.js). The pinned version lives here and only here.
'use strict';

const { goTool } = require('./go-tool-installer');

// v0.5.x: the LTX format (transaction ids and compaction levels); its go.mod has no replace directive.
const LITESTREAM_VERSION = 'v0.5.18';

const tool = goTool({
  title: 'Litestream',
  name: 'litestream',
  binary: 'litestream',
  envVar: 'LITESTREAM_BIN',
  module: 'github.com/benbjohnson/litestream/cmd/litestream',
  version: LITESTREAM_VERSION,
  versionArgs: ['version'],
  installHint: 'Litestream (https://litestream.io/install/)',
  npmScript: 'litestream:install',
});

module.exports = {
  LITESTREAM_VERSION,
  findLitestream: tool.find,
  ensureLitestream: tool.ensure,
  litestreamVersion: tool.version,
  cacheDir: tool.cacheDir,
};

if (require.main === module) tool.main();
