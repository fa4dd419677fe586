// npm run compose: regenerates docker-compose.yml from the cluster's settings table (src/cluster/settings.ts).
import fs from 'node:fs';
import path from 'node:path';
import { renderCompose } from '../src/cluster/compose';

const file = path.join(__dirname, '..', 'docker-compose.yml');
const before = fs.readFileSync(file, 'utf8');
const after = renderCompose();
if (after !== before) fs.writeFileSync(file, after);
process.stdout.write(`docker-compose.yml: ${after === before ? 'already current' : 'regenerated'}\n`);
