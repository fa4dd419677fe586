// atlas-ops key-rotation start | installed | revoked
import type { Command } from 'commander';
import { keyInstalledSignal, oldKeyRevokedSignal } from '../../../workflows/key-rotation';
import type { Run } from '../action';
import { EXIT, nameOption, textOption } from '../common';
import { hostOption, procedureId, startProcedure } from '../procedures';
import { shellQuote } from '../../workflow-safe/shell-quote';

export function registerKeyRotation(program: Command, run: Run): void {
  const key = program.command('key-rotation').description('quarterly Sheets key rotation');
  startCommand(key, run);
  signalCommand(key, run, 'installed', keyInstalledSignal, 'the new key is installed as the Sheets credentials file');
  signalCommand(key, run, 'revoked', oldKeyRevokedSignal, 'the old key is revoked in Google Cloud Console');
}

function startCommand(key: Command, run: Run): void {
  key
    .command('start')
    .description('start a rotation: it waits for the new key, verifies it, and asks for the old one to be revoked')
    .addOption(hostOption())
    .option('--wait', 'follow it until done')
    .action(run<{ wait?: true }>(async (a) =>
      startProcedure(a, { workflowType: 'keyRotation', procedure: 'key-rotation', input: {}, summary: 'Sheets key rotation', wait: a.opts.wait }),
    ));
}

function signalCommand(key: Command, run: Run, name: string, signal: typeof keyInstalledSignal | typeof oldKeyRevokedSignal, what: string): void {
  key
    .command(name)
    .description(`tell the running rotation: ${what}`)
    .argument('[workflow-id]', 'the rotation (default: the running one)')
    .option('--by <name>', 'who', nameOption('--by'), process.env.USER)
    .option('--note <text>', 'a note', textOption('--note'))
    .action(run<{ by?: string; note?: string }, [string?]>(async (a) => {
      const client = await a.client();
      const id = await procedureId(client, a.args[0], 'keyRotation');
      await client.workflow.getHandle(id).signal(signal, { by: a.opts.by, note: a.opts.note });
      a.output({ workflowId: id, signalled: signal.name }, () => `${signal.name} sent to ${id}; follow: atlas-ops status ${shellQuote(id)}`);
      return EXIT.ok;
    }));
}
