// Validation of workflow input. Operators start procedures from the Web UI with hand-typed JSON,
// so a wrong field must fail the workflow at once with a message naming it, never retry forever.
// Each workflow declares its input as a table of fields (name, type, default, doc), as the
// configuration does (src/config.ts): the table yields both the input's TypeScript type and its
// validation, so a field is spelled in one place.
import { ApplicationFailure } from '@temporalio/workflow';
import { parseDuration } from '../../src/workflow-safe/duration';
import { failure } from '../../src/workflow-safe/failures';
import { isPlainFileName, restoreTargetProblem } from '../../src/workflow-safe/file-names';
import { DURATION_MIN, LIST_MAX, NAME_MAX, TEXT_MAX, lengthProblem, minimumProblem } from '../../src/workflow-safe/limits';

/** A value as the message shows it: JSON, cut short (an operator's mistake may be megabytes long). */
function shown(v: unknown): string {
  const json = JSON.stringify(v) ?? String(v);
  return json.length > 200 ? `${json.slice(0, 200)}… (${json.length} characters)` : json;
}
import { unknownSchedulesProblem } from '../../src/workflow-safe/schedule-names';

export function invalid(field: string, problem: string): ApplicationFailure {
  return failure.InvalidInput(`${field}: ${problem}`);
}

/** The input object, or {} when none was given. Rejects anything but a plain object. */
function inputObject(input: unknown, workflow: string): Record<string, unknown> {
  if (input === undefined || input === null) return {};
  if (typeof input !== 'object' || Array.isArray(input)) throw invalid('input', `${workflow} takes a JSON object (or nothing), got ${shown(input)}`);
  return input as Record<string, unknown>;
}

function rejectUnknown(input: Record<string, unknown>, known: readonly string[]): void {
  for (const key of Object.keys(input)) {
    if (!known.includes(key)) throw invalid(key.length > NAME_MAX ? shown(key) : key, `unknown field (known: ${known.join(', ')})`);
  }
}

/** Every string has a cap: names and ids NAME_MAX, free text (the `text` type) TEXT_MAX. */
function cappedString(v: unknown, field: string, max: number): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw invalid(field, `expected a string, got ${shown(v)}`);
  const tooLong = lengthProblem(v, max);
  if (tooLong) throw invalid(field, tooLong);
  return v;
}

function optionalString(v: unknown, field: string): string | undefined {
  return cappedString(v, field, NAME_MAX);
}

function optionalText(v: unknown, field: string): string | undefined {
  return cappedString(v, field, TEXT_MAX);
}

/** A list of at most LIST_MAX items. */
function checkedList(v: unknown, field: string, expected: string): unknown[] {
  if (!Array.isArray(v)) throw invalid(field, `expected ${expected}, got ${shown(v)}`);
  if (v.length > LIST_MAX) throw invalid(field, `has ${v.length} items, over the cap of ${LIST_MAX}`);
  return v;
}

function optionalBoolean(v: unknown, field: string): boolean | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw invalid(field, `expected true or false, got ${shown(v)}`);
  return v;
}

/** A duration as "30s"/"5m"/"1h30m" or a number of milliseconds. */
function optionalDuration(v: unknown, field: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'number' && Number.isFinite(v) && v > 0) return v;
  if (typeof v === 'string') {
    const tooLong = lengthProblem(v, NAME_MAX);
    if (tooLong) throw invalid(field, tooLong);
    try {
      return parseDuration(v, field);
    } catch (err) {
      throw invalid(field, (err as Error).message.replace(`${field}: `, ''));
    }
  }
  throw invalid(field, `expected a duration such as "30s", "5m" or "1h", got ${shown(v)}`);
}

function optionalPositiveInt(v: unknown, field: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw invalid(field, `expected a whole number of at least 1, got ${shown(v)}`);
  return v;
}

/** Growing intervals (sheetsOutage's polls): each element is named by its index in the message. */
function optionalDurations(v: unknown, field: string): number[] | undefined {
  if (v === undefined || v === null) return undefined;
  const expected = 'a non-empty list of durations such as ["1m", "5m"]';
  const list = checkedList(v, field, expected);
  if (list.length === 0) throw invalid(field, `expected ${expected}, got []`);
  return list.map((item, i) => optionalDuration(item, `${field}[${i}]`)!);
}

/** A null here is a mistake, not "absent": the default would silently apply. */
function optionalPercent(v: unknown, field: string): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !(v > 0 && v <= 100)) throw invalid(field, `expected a percentage between 0 and 100, got ${shown(v)}`);
  return v;
}

function optionalScheduleNames(v: unknown, field: string): string[] | undefined {
  if (v === undefined) return undefined;
  const names = checkedList(v, field, 'a list of schedule names').map((n, i) => {
    if (typeof n !== 'string') throw invalid(field, `expected a list of schedule names, got ${shown(v)}`);
    return optionalString(n, `${field}[${i}]`)!;
  });
  // Checked now: an unknown name found only when the schedules are paused would fail mid-procedure.
  const problem = unknownSchedulesProblem(names);
  if (problem) throw invalid(field, problem);
  return names;
}

/** A path on the worker's host: absolute, since a relative one would mean the worker's working directory. */
function optionalAbsolutePath(v: unknown, field: string): string | undefined {
  const s = optionalString(v, field);
  if (s !== undefined && !s.startsWith('/')) throw invalid(field, `"${s}" must be an absolute path`);
  return s;
}

function optionalIsoTime(v: unknown, field: string): string | undefined {
  const s = optionalString(v, field);
  if (s !== undefined && Number.isNaN(Date.parse(s))) throw invalid(field, `"${s}" is not an ISO date-time`);
  return s;
}

/** The same rule as insideDir on the host, checked before anything happens. */
function optionalPlainFileName(v: unknown, field: string): string | undefined {
  const s = optionalString(v, field);
  if (s !== undefined && !isPlainFileName(s)) throw invalid(field, `"${s}" must be a plain file name (no "/", no "..")`);
  return s;
}

function optionalRestoreTarget(v: unknown, field: string): string | undefined {
  const s = optionalString(v, field);
  const problem = s === undefined ? undefined : restoreTargetProblem(s);
  if (problem) throw invalid(field, problem);
  return s;
}

/** Each field type: what the operator may send (Raw) and what the workflow receives (Value). */
interface FieldType<Raw, Value> {
  parse(v: unknown, field: string): Value | undefined;
  /** Type-level only: the JSON an operator sends. */
  readonly raw?: Raw;
}

const TYPES = {
  string: { parse: optionalString } as FieldType<string, string>,
  text: { parse: optionalText } as FieldType<string, string>,
  boolean: { parse: optionalBoolean } as FieldType<boolean, boolean>,
  duration: { parse: optionalDuration } as FieldType<string | number, number>,
  durations: { parse: optionalDurations } as FieldType<(string | number)[], number[]>,
  positiveInt: { parse: optionalPositiveInt } as FieldType<number, number>,
  percent: { parse: optionalPercent } as FieldType<number, number>,
  scheduleNames: { parse: optionalScheduleNames } as FieldType<string[], string[]>,
  isoTime: { parse: optionalIsoTime } as FieldType<string, string>,
  absolutePath: { parse: optionalAbsolutePath } as FieldType<string, string>,
  plainFileName: { parse: optionalPlainFileName } as FieldType<string, string>,
  restoreTarget: { parse: optionalRestoreTarget } as FieldType<string, string>,
  enum: { parse: optionalString } as FieldType<string, string>,
};

type TypeName = keyof typeof TYPES;

/** One row of an input table. */
export interface InputField {
  readonly name: string;
  readonly type: TypeName;
  /** Absent: the field is optional and the workflow sees `undefined` (or resolves a default from configuration). */
  readonly default?: unknown;
  /** Must be given and not blank. */
  readonly required?: boolean;
  /** May be left out (the default applies), but when given must not be blank. */
  readonly notBlank?: boolean;
  /** For `enum`: the accepted values. */
  readonly values?: readonly string[];
  /** For `duration` and `durations`: the shortest accepted, in milliseconds (src/workflow-safe/limits.ts). */
  readonly min?: number;
  readonly doc: string;
}

export type InputTable = readonly InputField[];

type RawOf<F extends InputField> = F extends { type: 'enum'; values: readonly (infer V)[] } ? V : NonNullable<(typeof TYPES)[F['type']]['raw']>;
type ValueOf<F extends InputField> = F extends { type: 'enum'; values: readonly (infer V)[] } ? V : NonNullable<ReturnType<(typeof TYPES)[F['type']]['parse']>>;
type Simplify<T> = { [K in keyof T]: T[K] } & {};

/** What an operator sends: the workflow function's parameter type. */
export type InputOf<T extends InputTable> = Simplify<
  { [F in T[number] as F extends { required: true } ? F['name'] : never]: RawOf<F> } &
  { [F in T[number] as F extends { required: true } ? never : F['name']]?: RawOf<F> }
>;

/** What the workflow receives once validated: defaults applied, durations in milliseconds. */
export type ArgsOf<T extends InputTable> = Simplify<{
  [F in T[number] as F['name']]: F extends { required: true } | { default: unknown } ? ValueOf<F> : ValueOf<F> | undefined;
}>;

/** Declares an input table; `const` keeps each row's literal name and type for the mapped types. */
export function inputTable<const T extends InputTable>(fields: T): T {
  return fields;
}

/** A duration field (or each of a list) at least `min` milliseconds. */
function checkMinimum(value: unknown, field: string, min: number): void {
  const each = Array.isArray(value) ? value : [value];
  each.forEach((ms, i) => {
    const short = typeof ms === 'number' ? minimumProblem(ms, min) : undefined;
    if (short) throw invalid(Array.isArray(value) ? `${field}[${i}]` : field, short);
  });
}

/** Validates `input` against `table`: unknown fields, wrong types, missing required fields fail with InvalidInput. */
export function parseInput<T extends InputTable>(workflow: string, table: T, input: unknown): ArgsOf<T> {
  const raw = inputObject(input, workflow);
  rejectUnknown(raw, table.map((f) => f.name));
  const args: Record<string, unknown> = {};
  for (const f of table) {
    const given = raw[f.name];
    const blank = typeof given === 'string' && given.trim() === '';
    if (f.required && (given === undefined || given === null || blank)) throw invalid(f.name, 'is required');
    if (f.notBlank && blank) throw invalid(f.name, 'must not be blank');
    let value: unknown = TYPES[f.type].parse(given, f.name);
    if (f.type === 'enum' && value !== undefined && !f.values?.includes(value as string)) throw invalid(f.name, `"${String(value)}" is not ${f.values?.join(' or ')}`);
    if (f.min !== undefined) checkMinimum(value, f.name, f.min);
    value ??= f.default;
    args[f.name] = value;
  }
  // The table is the type: each value was checked against its row above.
  return args as ArgsOf<T>;
}

/** The fields most procedures take: how long a failed step waits, reminders, the host queue. */
export const HOST_QUEUE = { name: 'hostQueue', type: 'string', doc: 'Host activity queue override (multi-host setups); a worker that does not serve it refuses the procedure.' } as const;
/** The home the operator named (the CLI fills it from --home or the configuration); docs/safety.md#the-home-and-host-asked. */
export const HOME = { name: 'home', type: 'absolutePath', doc: 'The Atlas home the procedure acts on; absent: the home of the worker serving the host queue. A worker serving another home refuses it.' } as const;
export const DECISION_TIMEOUT = { name: 'decisionTimeout', type: 'duration', min: DURATION_MIN.decisionTimeout, doc: 'How long a failed step waits for a decision before aborting ("24h", or milliseconds).' } as const;
export const REMINDER_INTERVAL = { name: 'reminderInterval', type: 'duration', min: DURATION_MIN.reminderInterval, doc: 'Interval of the reminders while a person is awaited.' } as const;
export const DRAIN_TIMEOUT = { name: 'drainTimeout', type: 'duration', min: DURATION_MIN.drainTimeout, doc: 'How long to wait for running syncs and backups to finish.' } as const;
