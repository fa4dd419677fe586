// npm run docs: regenerates the generated sections in README.md from CONFIG_FIELDS.
import fs from 'node:fs';
import path from 'node:path';
import { withGeneratedSections } from '../src/readme-docs';

const file = path.join(__dirname, '..', 'README.md');
const before = fs.readFileSync(file, 'utf8');
const after = withGeneratedSections(before);
if (after !== before) fs.writeFileSync(file, after);
process.stdout.write(`README.md: generated sections ${after === before ? 'already current' : 'updated'}\n`);
