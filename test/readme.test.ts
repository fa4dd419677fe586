// The README is part of the product: its generated sections (procedures, configuration reference)
// must match the code, the quick start must stay first, and every command and exit code is there.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT } from '../src/cli/common';
import { CONFIG_FIELDS } from '../src/config';
import { withGeneratedSections } from '../src/readme-docs';
import { REPO } from './helpers/env';

const readme = fs.readFileSync(path.join(REPO, 'README.md'), 'utf8');

describe('README.md', () => {
  it('has current generated sections (run `npm run docs` when this fails)', () => {
    expect(withGeneratedSections(readme)).toBe(readme);
  });

  it('starts with the two-command quick start', () => {
    const sections = readme.split(/^## /m);
    expect(sections[1]!.startsWith('Quick start\n')).toBe(true);
    expect(sections[1]).toContain('npm install && npm start');
    expect(sections[1]).toContain('npm test');
  });

  it('documents every setting and exit code', () => {
    for (const f of CONFIG_FIELDS) {
      expect(readme).toContain(`\`${f.key}\``);
      if (f.env) expect(readme).toContain(`\`${f.env}\``);
    }
    for (const code of Object.values(EXIT)) expect(readme).toMatch(new RegExp(`^\\| \`${code}\` \\| `, 'm'));
  });

  it('has the architecture as a Mermaid diagram', () => {
    expect(readme).toMatch(/```mermaid\nflowchart/);
  });
});
