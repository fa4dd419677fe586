// atlas-ops list: the running procedures and what each waits for. It reads the
// search attributes every procedure keeps current (AtlasProcedure, AtlasPhase, AtlasWaitingFor),
// so a procedure added later is listed without a change here.
import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import type { AtlasConfig } from '../config';
import { ATLAS_HOST, ATLAS_PHASE, ATLAS_PROCEDURE, ATLAS_WAITING_FOR } from '../../workflows/search-attributes';
import { colour, link } from './common';
import { elapsed, nextCommands, queryStatus } from './follow';

export interface ProcedureRow {
  workflowId: string;
  procedure: string;
  host?: string;
  phase?: string;
  /** The AtlasWaitingFor keyword ("edits", "decision", …); absent when it waits for nobody. */
  waitingFor?: string;
  /** What is awaited, in words (from the status query). */
  waitingForText?: string;
  step?: string;
  startedAt: string;
  /** The exact commands that move it on. */
  next: string[];
  url: string;
}

const keyword = (info: WorkflowExecutionInfo, key: { name: string }): string | undefined => {
  const v = info.searchAttributes?.[key.name] as unknown[] | undefined;
  return typeof v?.[0] === 'string' ? v[0] : undefined;
};

/** Visibility query strings are single-quoted: escape what the configuration may hold. */
const quote = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

export interface ListOptions {
  waiting?: boolean;
  /** Only the procedures whose host activities run on this Atlas host. */
  host?: string;
}

/** This deployment's procedures (its workflow task queue), whichever host the CLI runs on. */
export function listQuery(config: Pick<AtlasConfig, 'taskQueue'>, options: ListOptions): string {
  const parts = [`${ATLAS_PROCEDURE.name} IS NOT NULL`, `ExecutionStatus = 'Running'`, `TaskQueue = ${quote(config.taskQueue)}`];
  if (options.host) parts.push(`${ATLAS_HOST.name} = ${quote(options.host)}`);
  if (options.waiting) parts.push(`${ATLAS_WAITING_FOR.name} IS NOT NULL`);
  return parts.join(' AND ');
}

export async function listProcedures(client: Client, config: AtlasConfig, options: ListOptions = {}): Promise<ProcedureRow[]> {
  const rows: ProcedureRow[] = [];
  for await (const info of client.workflow.list({ query: listQuery(config, options) })) {
    const row: ProcedureRow = {
      workflowId: info.workflowId,
      procedure: keyword(info, ATLAS_PROCEDURE) ?? info.type,
      host: keyword(info, ATLAS_HOST),
      phase: keyword(info, ATLAS_PHASE),
      waitingFor: keyword(info, ATLAS_WAITING_FOR),
      startedAt: info.startTime.toISOString(),
      next: [],
      url: link(config, info.workflowId),
    };
    // The status query says what is awaited in words; without a worker the attributes still answer.
    const status = await queryStatus(client.workflow.getHandle(info.workflowId), 3000);
    if (status) {
      row.phase = status.phase;
      row.step = status.step;
      row.waitingForText = status.failedStep ? `a decision on failed step ${status.failedStep.step}: ${status.failedStep.error}` : status.waitingFor;
      row.next = nextCommands(status, info.workflowId);
    }
    rows.push(row);
  }
  return rows.sort((a, b) => a.startedAt.localeCompare(b.startedAt));
}

export function formatRows(rows: ProcedureRow[], now = Date.now()): string[] {
  if (!rows.length) return ['no procedures running'];
  const lines: string[] = [];
  for (const r of rows) {
    const age = elapsed(now - Date.parse(r.startedAt));
    const state = r.waitingFor ? colour.yellow(`WAITING for ${r.waitingForText ?? r.waitingFor}`) : `running${r.step ? ` (step: ${r.step})` : ''}`;
    lines.push(`${colour.bold(r.workflowId)}  ${r.procedure}  phase ${r.phase ?? '?'}  ${state}  started ${age} ago`);
    for (const c of r.next) lines.push(`    ${c}`);
  }
  return lines;
}
