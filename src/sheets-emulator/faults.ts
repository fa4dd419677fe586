// Faults the emulator answers with instead of the real reply, for the next N API calls (or until
// cleared). Set from code (tests) or at run time through the admin endpoint and the CLI. This file
// is the one list of fault kinds: the server, the admin endpoint and the CLI's help all read it.
//
//   400 401 403 404 429 500 502 503 504  an error in Google's JSON shape; the request is not applied
//   reset       the connection is closed before anything is read or applied
//   latency     the real answer, after latencyMs (longer than the client's timeout: a timeout,
//               and the request is still applied after the client gave up, as a server would)
//   malformed   200 OK with a body that is not JSON; the request is not applied (something between
//               the client and the API garbled the answer)
//   partial     the request is applied, the real status and Content-Length are sent, then half the
//               body, then the connection is closed
//   lost-reply  the request is applied, then the connection is closed before any reply: a retry
//               must be idempotent

export const FAULT_KINDS = [400, 401, 403, 404, 429, 500, 502, 503, 504, 'reset', 'latency', 'malformed', 'partial', 'lost-reply'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** The error each status fault answers with: Google's status name and message. */
export const FAULT_ERRORS: Record<Extract<FaultKind, number>, { status: string; message: string }> = {
  400: { status: 'INVALID_ARGUMENT', message: 'Request contains an invalid argument.' },
  401: { status: 'UNAUTHENTICATED', message: 'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.' },
  403: { status: 'PERMISSION_DENIED', message: 'The caller does not have permission' },
  404: { status: 'NOT_FOUND', message: 'Requested entity was not found.' },
  429: { status: 'RESOURCE_EXHAUSTED', message: "Quota exceeded for quota metric 'Read requests' and limit 'Read requests per minute per user' of service 'sheets.googleapis.com'." },
  500: { status: 'INTERNAL', message: 'Internal error encountered.' },
  502: { status: 'UNAVAILABLE', message: 'Bad Gateway: the server received an invalid response from an upstream server.' },
  503: { status: 'UNAVAILABLE', message: 'The service is currently unavailable.' },
  504: { status: 'DEADLINE_EXCEEDED', message: 'The request timed out before the server could answer.' },
};

/** What 'malformed' answers with a 200: JSON-looking, complete, and not JSON. */
export const MALFORMED_BODY = "{\"spreadsheetId\": \"?\", \"valueRanges\": [{range: 'Approvals!A1:J1', values: [['approval_id',]]}]";

/** Which calls a fault hits: reads are GETs, writes everything else. */
export const FAULT_TARGETS = ['read', 'write'] as const;
export type FaultTarget = (typeof FAULT_TARGETS)[number];

export interface FaultSpec {
  kind: FaultKind;
  /** How many API calls it hits; Infinity (or "always" over HTTP) until cleared. Default 1. */
  count?: number;
  /** Only reads or only writes; default: any call. */
  on?: FaultTarget;
  /** 429 and 5xx: the Retry-After header, in seconds (429 default 1; 5xx default none). */
  retryAfterSeconds?: number;
  /** latency: delay before the real answer. */
  latencyMs?: number;
}

export interface ActiveFault extends Required<Pick<FaultSpec, 'kind'>> {
  remaining: number;
  on?: FaultTarget;
  retryAfterSeconds?: number;
  latencyMs?: number;
}

/** Validates a fault typed by a person (admin endpoint, CLI); the error names the field. */
export function parseFault(input: unknown): FaultSpec {
  if (!input || typeof input !== 'object') throw new Error('fault: expected an object such as {"kind": 429, "count": 1}');
  const o = input as Record<string, unknown>;
  const kind = typeof o.kind === 'string' && /^\d+$/.test(o.kind) ? Number(o.kind) : o.kind;
  if (!FAULT_KINDS.includes(kind as FaultKind)) throw new Error(`kind: ${JSON.stringify(o.kind)} is not one of ${FAULT_KINDS.join(', ')}`);
  let count = 1;
  if (o.count === 'always') count = Infinity;
  else if (o.count !== undefined) {
    count = Number(o.count);
    if (!Number.isInteger(count) || count < 1) throw new Error(`count: ${JSON.stringify(o.count)} must be a whole number ≥ 1 or "always"`);
  }
  const spec: FaultSpec = { kind: kind as FaultKind, count };
  if (o.on !== undefined && o.on !== 'any') {
    if (!FAULT_TARGETS.includes(o.on as FaultTarget)) throw new Error(`on: ${JSON.stringify(o.on)} is not one of ${FAULT_TARGETS.join(', ')}, any`);
    spec.on = o.on as FaultTarget;
  }
  if (o.retryAfterSeconds !== undefined) {
    const n = Number(o.retryAfterSeconds);
    if (!Number.isFinite(n) || n < 0) throw new Error(`retryAfterSeconds: ${JSON.stringify(o.retryAfterSeconds)} must be a number ≥ 0`);
    if (spec.kind !== 429 && !(typeof spec.kind === 'number' && spec.kind >= 500)) throw new Error(`retryAfterSeconds: only 429 and 5xx faults send Retry-After, not ${spec.kind}`);
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
    this.faults.push({ kind: spec.kind, remaining: spec.count ?? 1, on: spec.on, retryAfterSeconds: spec.retryAfterSeconds, latencyMs: spec.latencyMs });
  }

  clear(): void {
    this.faults = [];
  }

  list(): ActiveFault[] {
    return this.faults.map((f) => ({ ...f }));
  }

  /** The fault for this call, if any; counts it down. Faults apply in the order they were set. */
  take(call: FaultTarget): ActiveFault | undefined {
    const i = this.faults.findIndex((f) => !f.on || f.on === call);
    const f = this.faults[i];
    if (!f) return undefined;
    f.remaining--;
    if (f.remaining <= 0) this.faults.splice(i, 1);
    return f;
  }
}
