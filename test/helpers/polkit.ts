// The shipped polkit rule (deploy/polkit/50-atlas-ops.rules), evaluated as polkitd would: the file run
// in a fresh JavaScript context with a stand-in `polkit` object, and each request put to the rules it
// added. Tests ask it what the worker's user may do instead of trusting a copy of the rule's table.
import fs from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';
import { POLKIT_RULE } from '../../src/deployed-privileges';
import { REPO } from './env';

export interface PolkitRequest {
  user: string;
  unit: string;
  verb: string;
  /** Default systemd's: org.freedesktop.systemd1.manage-units. */
  actionId?: string;
}

type Rule = (action: { id: string; lookup(key: string): string | undefined }, subject: { user: string; isInGroup(g: string): boolean }) => string | undefined;

const RESULT = { YES: 'yes', NO: 'no', AUTH_ADMIN: 'auth_admin', AUTH_ADMIN_KEEP: 'auth_admin_keep', AUTH_SELF: 'auth_self', AUTH_SELF_KEEP: 'auth_self_keep', NOT_HANDLED: 'not_handled' } as const;

/** Loads the rule file; the function answers polkit's result for a request ('not_handled' when no rule decides, i.e. refused). */
export function polkitRule(file = path.join(REPO, POLKIT_RULE)): (request: PolkitRequest) => string {
  const rules: Rule[] = [];
  vm.runInNewContext(fs.readFileSync(file, 'utf8'), { polkit: { addRule: (r: Rule) => rules.push(r), Result: RESULT, log: () => undefined } }, { filename: file });
  if (!rules.length) throw new Error(`${file}: adds no rule`);
  return (request) => {
    const details: Record<string, string> = { unit: request.unit, verb: request.verb };
    const action = { id: request.actionId ?? 'org.freedesktop.systemd1.manage-units', lookup: (key: string) => details[key] };
    const subject = { user: request.user, isInGroup: () => false };
    for (const rule of rules) {
      const r = rule(action, subject);
      if (r !== undefined && r !== RESULT.NOT_HANDLED) return r;
    }
    return RESULT.NOT_HANDLED;
  };
}
