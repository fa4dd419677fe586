#!/usr/bin/env node
// The atlas-ops CLI. TypeScript sources run through tsx, so the repository needs no build step.
require('tsx/cjs');
// Before anything is created: files 0640, folders 0750 whatever umask the caller left (docs/safety.md#file-modes).
require('../src/file-modes.ts').useOwnUmask();
require('../src/cli/main.ts').main(process.argv);
