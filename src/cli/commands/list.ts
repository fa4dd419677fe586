// atlas-ops list [--waiting] [--host <name>]
import type { Command } from 'commander';
import type { Run } from '../action';
import { EXIT } from '../common';
import { formatRows, listProcedures } from '../list';

export function registerList(program: Command, run: Run): void {
  program
    .command('list')
    .description('the running procedures and what each waits for (Web UI: filter by AtlasProcedure / AtlasWaitingFor)')
    .option('--waiting', 'only procedures waiting for a person')
    .option('--host <name>', 'only procedures whose host work runs on this Atlas host (AtlasHost)')
    .action(run<{ waiting?: true; host?: string }>(async (a) => {
      const { config } = a;
      const rows = await listProcedures(await a.client(), config, { waiting: a.opts.waiting === true, host: a.opts.host });
      a.output(rows, () => formatRows(rows));
      return EXIT.ok;
    }));
}
