// Validation of workflow input. Operators start procedures from the Web UI with hand-typed JSON,
// so a wrong field must fail the workflow at once with a message naming it, never retry forever.
import { ApplicationFailure } from '@temporalio/workflow';
import { parseDuration } from '../../src/workflow-safe/duration';
import { failure } from '../../src/workflow-safe/failures';

export function invalid(field: string, problem: string): ApplicationFailure {
  return failure.InvalidInput(`${field}: ${problem}`);
}

/** The input object, or {} when none was given. Rejects anything but a plain object. */
export function inputObject(input: unknown, workflow: string): Record<string, unknown> {
  if (input === undefined || input === null) return {};
  if (typeof input !== 'object' || Array.isArray(input)) throw invalid('input', `${workflow} takes a JSON object (or nothing), got ${JSON.stringify(input)}`);
  return input as Record<string, unknown>;
}

export function rejectUnknown(input: Record<string, unknown>, known: readonly string[]): void {
  for (const key of Object.keys(input)) {
    if (!known.includes(key)) throw invalid(key, `unknown field (known: ${known.join(', ')})`);
  }
}

export function optionalString(input: Record<string, unknown>, field: string): string | undefined {
  const v = input[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw invalid(field, `expected a string, got ${JSON.stringify(v)}`);
  return v;
}

export function optionalBoolean(input: Record<string, unknown>, field: string): boolean | undefined {
  const v = input[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw invalid(field, `expected true or false, got ${JSON.stringify(v)}`);
  return v;
}

/** A duration as "30s"/"5m"/"1h30m" or a number of milliseconds. */
export function optionalDuration(input: Record<string, unknown>, field: string): number | undefined {
  const v = input[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'number' && Number.isFinite(v) && v > 0) return v;
  if (typeof v === 'string') {
    try {
      return parseDuration(v, field);
    } catch (err) {
      throw invalid(field, (err as Error).message.replace(`${field}: `, ''));
    }
  }
  throw invalid(field, `expected a duration such as "30s", "5m" or "1h", got ${JSON.stringify(v)}`);
}

export function optionalPositiveInt(input: Record<string, unknown>, field: string): number | undefined {
  const v = input[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw invalid(field, `expected a whole number of at least 1, got ${JSON.stringify(v)}`);
  return v;
}

export function requiredString(input: Record<string, unknown>, field: string): string {
  const v = optionalString(input, field);
  if (v === undefined || v.trim() === '') throw invalid(field, 'is required');
  return v;
}
