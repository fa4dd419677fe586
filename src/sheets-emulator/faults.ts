// Faults the emulator answers with instead of the real reply, for the next N API calls (or until
// cleared). Set from code (tests) or at run time through the admin endpoint and the CLI.

export type FaultKind = 401 | 403 | 404 | 429 | 500 | 503 | 'reset' | 'latency';

export interface FaultSpec {
  kind: FaultKind;
  /** How many API calls it hits; Infinity (or "always" over HTTP) until cleared. Default 1. */
  count?: number;
  /** 429: the Retry-After header, in seconds. */
  retryAfterSeconds?: number;
  /** latency: delay before the real answer. */
  latencyMs?: number;
}

export interface ActiveFault extends Required<Pick<FaultSpec, 'kind'>> {
  remaining: number;
  retryAfterSeconds?: number;
  latencyMs?: number;
}

const KINDS: readonly FaultKind[] = [401, 403, 404, 429, 500, 503, 'reset', 'latency'];

/** Validates a fault typed by a person (admin endpoint, CLI); the error names the field. */
export function parseFault(input: unknown): FaultSpec {
  if (!input || typeof input !== 'object') throw new Error('fault: expected an object such as {"kind": 429, "count": 1}');
  const o = input as Record<string, unknown>;
  const kind = typeof o.kind === 'string' && /^\d+$/.test(o.kind) ? Number(o.kind) : o.kind;
  if (!KINDS.includes(kind as FaultKind)) throw new Error(`kind: ${JSON.stringify(o.kind)} is not one of ${KINDS.join(', ')}`);
  let count = 1;
  if (o.count === 'always') count = Infinity;
  else if (o.count !== undefined) {
    count = Number(o.count);
    if (!Number.isInteger(count) || count < 1) throw new Error(`count: ${JSON.stringify(o.count)} must be a whole number ≥ 1 or "always"`);
  }
  const spec: FaultSpec = { kind: kind as FaultKind, count };
  if (o.retryAfterSeconds !== undefined) {
    const n = Number(o.retryAfterSeconds);
    if (!Number.isFinite(n) || n < 0) throw new Error(`retryAfterSeconds: ${JSON.stringify(o.retryAfterSeconds)} must be a number ≥ 0`);
    spec.retryAfterSeconds = n;
  }
  if (o.latencyMs !== undefined) {
    const n = Number(o.latencyMs);
    if (!Number.isFinite(n) || n < 0) throw new Error(`latencyMs: ${JSON.stringify(o.latencyMs)} must be a number ≥ 0`);
    spec.latencyMs = n;
  }
  if (spec.kind === 'latency' && spec.latencyMs === undefined) throw new Error('latencyMs: required for a latency fault');
  return spec;
}

export class FaultQueue {
  private faults: ActiveFault[] = [];

  add(spec: FaultSpec): void {
    this.faults.push({ kind: spec.kind, remaining: spec.count ?? 1, retryAfterSeconds: spec.retryAfterSeconds, latencyMs: spec.latencyMs });
  }

  clear(): void {
    this.faults = [];
  }

  list(): ActiveFault[] {
    return this.faults.map((f) => ({ ...f }));
  }

  /** The fault for this call, if any; counts it down. Faults apply in the order they were set. */
  take(): ActiveFault | undefined {
    const f = this.faults[0];
    if (!f) return undefined;
    f.remaining--;
    if (f.remaining <= 0) this.faults.shift();
    return f;
  }
}
