#!/usr/bin/env node
// The atlas-ops CLI. TypeScript sources run through tsx, so the repository needs no build step.
require('tsx/cjs');
require('../src/cli/main.ts').main(process.argv);
