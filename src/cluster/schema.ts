// The temporal-sql-tool steps that create the cluster's two databases and bring their schemas to
// the server's version: run by `atlas-ops cluster up` (src/cluster/cluster.ts) and rendered into
// docker-compose.yml's one-shot `temporal-schema` service (src/cluster/compose.ts), so both shapes
// create the same schema the same way (docs/architecture.md#deployment-shapes). The password is
// never an argument: temporal-sql-tool reads SQL_PASSWORD from its environment.
import path from 'node:path';
import { shellQuote } from '../workflow-safe/shell-quote';
import { CLUSTER } from './settings';

export interface SchemaTarget {
  /** PostgreSQL as the SQL tool reaches it: 127.0.0.1 and the cluster's port, or the compose service name. */
  host: string;
  port: number;
  /** The server's schema/postgresql/v12 folder (the Go module's, or /etc/temporal/schema/... in the admin-tools image). */
  schemaDir: string;
}

export interface SqlToolStep {
  db: string;
  /** What an error message calls the step. */
  what: 'create-database' | 'setup-schema' | 'update-schema';
  /** temporal-sql-tool's arguments. */
  args: string[];
  /** Output that means "already done" when the tool exits non-zero: a second `up` finds the databases there. */
  alreadyDone?: string;
}

const ALREADY_EXISTS = 'already exists';

export function schemaSteps(target: SchemaTarget): SqlToolStep[] {
  const base = ['--ep', target.host, '-p', String(target.port), '-u', CLUSTER.database.user, '--pl', CLUSTER.database.plugin];
  return ([[CLUSTER.database.name, 'temporal'], [CLUSTER.database.visibility, 'visibility']] as const).flatMap(([db, folder]) => [
    { db, what: 'create-database' as const, args: [...base, '--db', db, 'create-database'], alreadyDone: ALREADY_EXISTS },
    // setup-schema -v 0.0 creates the version table once; update-schema then applies every newer version.
    { db, what: 'setup-schema' as const, args: [...base, '--db', db, 'setup-schema', '-v', '0.0'], alreadyDone: ALREADY_EXISTS },
    { db, what: 'update-schema' as const, args: [...base, '--db', db, 'update-schema', '-d', path.posix.join(target.schemaDir, folder, 'versioned')] },
  ]);
}

/**
 * A `sh -c` script running `binary` once per step, in order, stopping at the first failure; a step
 * whose failure output contains its `alreadyDone` text counts as done (what cluster up does).
 */
export function shellScript(binary: string, steps: { args: string[]; alreadyDone?: string }[]): string {
  const lines = ['set -e'];
  if (steps.some((s) => s.alreadyDone)) {
    // done_if TEXT CMD...: runs CMD; a failure whose output contains TEXT is success.
    lines.push('done_if() { text="$1"; shift; out=$("$@" 2>&1) && { echo "$out"; return 0; }; echo "$out"; echo "$out" | grep -qF "$text"; }');
  }
  for (const s of steps) {
    const cmd = [binary, ...s.args].map(shellQuote).join(' ');
    lines.push(s.alreadyDone ? `done_if ${shellQuote(s.alreadyDone)} ${cmd}` : cmd);
  }
  return `${lines.join('\n')}\n`;
}

export const SQL_TOOL = 'temporal-sql-tool';

export function schemaScript(target: SchemaTarget): string {
  return shellScript(SQL_TOOL, schemaSteps(target));
}
