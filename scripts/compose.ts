// npm run compose: regenerates docker-compose.yml and the server configuration it mounts
// (deploy/compose/temporal/) from the code `atlas-ops cluster up` runs (src/cluster/compose.ts).
import fs from 'node:fs';
import path from 'node:path';
import { composeFiles } from '../src/cluster/compose';

for (const [name, text] of Object.entries(composeFiles())) {
  const file = path.join(__dirname, '..', name);
  const before = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : undefined;
  if (text !== before) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text);
  }
  process.stdout.write(`${name}: ${text === before ? 'already current' : 'regenerated'}\n`);
}
