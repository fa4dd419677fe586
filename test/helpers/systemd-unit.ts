// The deployment's systemd units as data: the directives of a unit file in deploy/systemd/, read by
// the tests that check the unit against the configuration and run the worker under its sandbox.
import fs from 'node:fs';
import path from 'node:path';
import { REPO } from './env';

export interface UnitFile {
  text: string;
  /** Every `Key=value` line, in order (comments and section headers left out). */
  directives: (readonly [string, string])[];
  /** All values of a directive, in order (Environment= and ReadWritePaths= may repeat). */
  values(key: string): string[];
  /** The one value of a directive; an error naming it when it is missing or repeated. */
  one(key: string): string;
  /** Environment= assignments as a map (each line may hold several, space-separated). */
  environment(): Record<string, string>;
}

export function readUnit(name: string): UnitFile {
  const file = path.join(REPO, 'deploy', 'systemd', name);
  const text = fs.readFileSync(file, 'utf8');
  const directives = text
    .split('\n')
    .filter((l) => /^[A-Za-z]+=/.test(l))
    .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)] as const);
  const values = (key: string) => directives.filter(([k]) => k === key).map(([, v]) => v);
  return {
    text,
    directives,
    values,
    one(key) {
      const all = values(key);
      if (all.length !== 1) throw new Error(`${name}: expected one ${key}=, found ${all.length}`);
      return all[0]!;
    },
    environment() {
      const out: Record<string, string> = {};
      for (const line of values('Environment')) {
        for (const pair of line.split(/\s+/).filter(Boolean)) out[pair.slice(0, pair.indexOf('='))] = pair.slice(pair.indexOf('=') + 1);
      }
      return out;
    },
  };
}
