// atlas-ops key-rotation start | ssh-installed
import type { Command } from 'commander';
import { sshKeyInstalledSignal } from '../../../workflows/key-rotation';
import type { Run } from '../action';
import { EXIT, UsageError, nameOption, textOption } from '../common';
import { hostOption, procedureId, startProcedure } from '../procedures';
import { shellQuote } from '../../workflow-safe/shell-quote';
import { SSH_FINGERPRINT } from '../../ssh-keys';

export function registerKeyRotation(program: Command, run: Run): void {
  const key = program.command('key-rotation').description('quarterly key rotation: the Sheets service-account key through IAM, the SSH key with a person');
  startCommand(key, run);
  sshInstalledCommand(key, run);
}

function startCommand(key: Command, run: Run): void {
  key
    .command('start')
    .description('start a rotation: a new Google key is created, verified, installed, and the old one deleted; then the SSH key, if configured')
    .addOption(hostOption())
    .option('--wait', 'follow it until done')
    .action(run<{ wait?: true }>(async (a) =>
      startProcedure(a, { workflowType: 'keyRotation', procedure: 'key-rotation', input: {}, summary: 'key rotation', wait: a.opts.wait }),
    ));
}

const fingerprintOption = (field: string) => (value: string): string => {
  if (!SSH_FINGERPRINT.test(value)) throw new UsageError(`${field}: "${value}" is not an SSH fingerprint as ssh-keygen -lf prints it (SHA256: and 43 base64 characters)`);
  return value;
};

function sshInstalledCommand(key: Command, run: Run): void {
  key
    .command('ssh-installed')
    .description('tell the running rotation: the new SSH key is in authorized_keys and the old one removed (it checks both)')
    .argument('[workflow-id]', 'the rotation (default: the running one)')
    .requiredOption('--new <fingerprint>', 'the new key (ssh-keygen -lf new_key.pub)', fingerprintOption('--new'))
    .requiredOption('--old <fingerprint>', 'the old key', fingerprintOption('--old'))
    .option('--by <name>', 'who', nameOption('--by'), process.env.USER)
    .option('--note <text>', 'a note', textOption('--note'))
    .action(run<{ new: string; old: string; by?: string; note?: string }, [string?]>(async (a) => {
      if (a.opts.new === a.opts.old) throw new UsageError(`--new and --old are the same key (${a.opts.new}): install a new key`);
      const client = await a.client();
      const id = await procedureId(client, a.args[0], 'keyRotation');
      await client.workflow.getHandle(id).signal(sshKeyInstalledSignal, { by: a.opts.by, note: a.opts.note, newFingerprint: a.opts.new, oldFingerprint: a.opts.old });
      a.output({ workflowId: id, signalled: sshKeyInstalledSignal.name }, () => `${sshKeyInstalledSignal.name} sent to ${id}; follow: atlas-ops status ${shellQuote(id)}`);
      return EXIT.ok;
    }));
}
