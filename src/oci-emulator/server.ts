// A local OCI Block Storage emulator for development and tests (127.0.0.1 only: docs/safety.md#loopback-only).
// It speaks the subset of the Core API (20160918) that atlas-ops uses, unsigned: volumes, volume
// backups with their lifecycle (CREATING → AVAILABLE after `availableAfterMs`, deleted → TERMINATED), FAULTY backups and
// injected errors on demand, and opc-retry-token: a retried create returns what the first made.
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { listenOn, listenOnPickedPort } from '../ports';

const API = '/20160918';

interface Volume {
  id: string;
  compartmentId: string;
  availabilityDomain: string;
  displayName: string;
  lifecycleState: string;
  sizeInGBs: number;
  timeCreated: string;
  sourceDetails?: { type: string; id: string };
  availableAt: number;
}

interface VolumeBackup {
  id: string;
  compartmentId: string;
  displayName: string;
  lifecycleState: string;
  timeCreated: string;
  volumeId: string;
  type: string;
  sizeInGBs: number;
  availableAt: number;
  faulty: boolean;
}

export interface EmulatorFaults {
  /** The next N created backups end FAULTY instead of AVAILABLE. */
  faultyBackups?: number;
  /** The next N creates succeed but answer 500, as when the response is lost: the caller retries. */
  loseCreateResponses?: number;
  /** The next N deletes succeed but answer 500, as when the response is lost: the caller retries. */
  loseDeleteResponses?: number;
  /** While true, a CREATING backup stays CREATING whatever its age: a test holds that state instead of racing the timer. */
  holdCreating?: boolean;
  /** The next N requests (any) answer with this status and service code. */
  failRequests?: { count: number; status: number; code: string };
}

export interface EmulatorOptions {
  port?: number;
  /** How long a new backup or volume stays CREATING / PROVISIONING. */
  availableAfterMs?: number;
  volumes?: { id: string; compartmentId?: string; availabilityDomain?: string; displayName?: string; sizeInGBs?: number }[];
}

export interface OciEmulator {
  url: string;
  port: number;
  faults: EmulatorFaults;
  backups(): VolumeBackup[];
  volumes(): Volume[];
  /** Requests seen, as "METHOD path". */
  requests: string[];
  /** The lifecycle state each GET of this backup answered, in order: what a poller saw. */
  statesServed(backupId: string): string[];
  close(): Promise<void>;
}

const ocid = (kind: string) => `ocid1.${kind}.oc1.emulator.${randomBytes(12).toString('hex')}`;

export async function startOciEmulator(options: EmulatorOptions = {}): Promise<OciEmulator> {
  const availableAfterMs = options.availableAfterMs ?? 1000;
  const volumes = new Map<string, Volume>();
  const backups = new Map<string, VolumeBackup>();
  const tokens = new Map<string, string>();
  const faults: EmulatorFaults = {};
  const requests: string[] = [];
  const served = new Map<string, string[]>();
  for (const v of options.volumes ?? []) {
    volumes.set(v.id, {
      id: v.id,
      compartmentId: v.compartmentId ?? 'ocid1.compartment.oc1..emulator',
      availabilityDomain: v.availabilityDomain ?? 'EMU:AD-1',
      displayName: v.displayName ?? 'atlas-home',
      lifecycleState: 'AVAILABLE',
      sizeInGBs: v.sizeInGBs ?? 50,
      timeCreated: new Date().toISOString(),
      availableAt: 0,
    });
  }

  // Lifecycle advances with time, read when a resource is looked at.
  const tick = () => {
    const now = Date.now();
    for (const b of backups.values()) if (b.lifecycleState === 'CREATING' && now >= b.availableAt && !faults.holdCreating) b.lifecycleState = b.faulty ? 'FAULTY' : 'AVAILABLE';
    for (const v of volumes.values()) if (v.lifecycleState === 'PROVISIONING' && now >= v.availableAt) v.lifecycleState = 'AVAILABLE';
  };
  const pub = <T extends { availableAt: number }>(r: T) => {
    const { availableAt: _a, ...rest } = r as T & { faulty?: boolean };
    delete (rest as { faulty?: boolean }).faulty;
    return rest;
  };

  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      requests.push(`${req.method} ${url.pathname}`);
      const send = (status: number, data: unknown, headers: Record<string, string> = {}) => {
        res.writeHead(status, { 'content-type': 'application/json', 'opc-request-id': randomBytes(8).toString('hex'), ...headers });
        res.end(JSON.stringify(data));
      };
      const error = (status: number, code: string, message: string) => send(status, { code, message });
      if (faults.failRequests && faults.failRequests.count > 0) {
        faults.failRequests.count--;
        return error(faults.failRequests.status, faults.failRequests.code, 'injected by the emulator');
      }
      tick();
      let json: Record<string, unknown> = {};
      try {
        json = body ? (JSON.parse(body) as Record<string, unknown>) : {};
      } catch {
        return error(400, 'InvalidParameter', 'body is not JSON');
      }
      const token = req.headers['opc-retry-token'] as string | undefined;
      const path = url.pathname.startsWith(API) ? url.pathname.slice(API.length) : url.pathname;
      let m: RegExpExecArray | null;

      if (req.method === 'POST' && path === '/volumeBackups') {
        if (token && tokens.has(token)) return send(200, pub(backups.get(tokens.get(token)!)!));
        const volume = volumes.get(String(json.volumeId));
        if (!volume) return error(404, 'NotAuthorizedOrNotFound', `volume ${String(json.volumeId)} not found`);
        const faulty = (faults.faultyBackups ?? 0) > 0;
        if (faulty) faults.faultyBackups!--;
        const b: VolumeBackup = {
          id: ocid('volumebackup'),
          compartmentId: volume.compartmentId,
          displayName: String(json.displayName ?? 'backup'),
          lifecycleState: 'CREATING',
          timeCreated: new Date().toISOString(),
          volumeId: volume.id,
          type: String(json.type ?? 'INCREMENTAL'),
          sizeInGBs: volume.sizeInGBs,
          availableAt: Date.now() + availableAfterMs,
          faulty,
        };
        backups.set(b.id, b);
        if (token) tokens.set(token, b.id);
        if ((faults.loseCreateResponses ?? 0) > 0) {
          faults.loseCreateResponses!--;
          return error(500, 'InternalServerError', 'response lost (injected by the emulator)');
        }
        return send(200, pub(b));
      }
      if (req.method === 'GET' && path === '/volumeBackups') {
        const compartmentId = url.searchParams.get('compartmentId');
        if (!compartmentId) return error(400, 'MissingParameter', 'compartmentId is required');
        const volumeId = url.searchParams.get('volumeId');
        const list = [...backups.values()].filter((b) => b.compartmentId === compartmentId && (!volumeId || b.volumeId === volumeId));
        list.sort((a, b) => b.timeCreated.localeCompare(a.timeCreated));
        return send(200, list.map(pub));
      }
      if (req.method === 'GET' && (m = /^\/volumeBackups\/([^/]+)$/.exec(path))) {
        const b = backups.get(decodeURIComponent(m[1]!));
        if (!b) return error(404, 'NotAuthorizedOrNotFound', `volume backup ${m[1]} not found`);
        served.set(b.id, [...(served.get(b.id) ?? []), b.lifecycleState]);
        return send(200, pub(b));
      }
      if (req.method === 'DELETE' && (m = /^\/volumeBackups\/([^/]+)$/.exec(path))) {
        // As OCI: only an AVAILABLE (or FAULTY) backup can be deleted; a deleted one is TERMINATED, then gone (404).
        const b = backups.get(decodeURIComponent(m[1]!));
        if (!b || b.lifecycleState === 'TERMINATED') return error(404, 'NotAuthorizedOrNotFound', `volume backup ${m[1]} not found`);
        if (b.lifecycleState !== 'AVAILABLE' && b.lifecycleState !== 'FAULTY') return error(409, 'IncorrectState', `volume backup ${b.id} is ${b.lifecycleState}`);
        b.lifecycleState = 'TERMINATED';
        if ((faults.loseDeleteResponses ?? 0) > 0) {
          faults.loseDeleteResponses!--;
          return error(500, 'InternalServerError', 'response lost (injected by the emulator)');
        }
        res.writeHead(204, { 'opc-request-id': randomBytes(8).toString('hex') });
        return res.end();
      }
      if (req.method === 'GET' && (m = /^\/volumes\/([^/]+)$/.exec(path))) {
        const v = volumes.get(decodeURIComponent(m[1]!));
        return v ? send(200, pub(v)) : error(404, 'NotAuthorizedOrNotFound', `volume ${m[1]} not found`);
      }
      if (req.method === 'DELETE' && (m = /^\/volumes\/([^/]+)$/.exec(path))) {
        // As OCI: a volume being provisioned cannot be terminated yet; a terminated one is gone (404).
        const v = volumes.get(decodeURIComponent(m[1]!));
        if (!v || v.lifecycleState === 'TERMINATED') return error(404, 'NotAuthorizedOrNotFound', `volume ${m[1]} not found`);
        if (v.lifecycleState !== 'AVAILABLE' && v.lifecycleState !== 'FAULTY') return error(409, 'IncorrectState', `volume ${v.id} is ${v.lifecycleState}`);
        v.lifecycleState = 'TERMINATED';
        res.writeHead(204, { 'opc-request-id': randomBytes(8).toString('hex') });
        return res.end();
      }
      if (req.method === 'POST' && path === '/volumes') {
        if (token && tokens.has(token)) return send(200, pub(volumes.get(tokens.get(token)!)!));
        const source = json.sourceDetails as { type?: string; id?: string } | undefined;
        const backup = source?.type === 'volumeBackup' ? backups.get(String(source.id)) : undefined;
        if (!backup) return error(404, 'NotAuthorizedOrNotFound', `volume backup ${String(source?.id)} not found`);
        if (backup.lifecycleState !== 'AVAILABLE') return error(409, 'IncorrectState', `volume backup ${backup.id} is ${backup.lifecycleState}`);
        const v: Volume = {
          id: ocid('volume'),
          compartmentId: String(json.compartmentId),
          availabilityDomain: String(json.availabilityDomain ?? 'EMU:AD-1'),
          displayName: String(json.displayName ?? 'restored'),
          lifecycleState: 'PROVISIONING',
          sizeInGBs: backup.sizeInGBs,
          timeCreated: new Date().toISOString(),
          sourceDetails: { type: 'volumeBackup', id: backup.id },
          availableAt: Date.now() + availableAfterMs,
        };
        volumes.set(v.id, v);
        if (token) tokens.set(token, v.id);
        return send(200, pub(v));
      }
      return error(404, 'NotFound', `${req.method} ${url.pathname} is not emulated`);
    });
  });
  // Port 0 (or none): one picked below the ephemeral range (src/ports.ts); a named one is used as is.
  const port = options.port ? await listenOn(server, options.port) : await listenOnPickedPort(server);
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    faults,
    requests,
    statesServed: (backupId) => served.get(backupId) ?? [],
    backups: () => (tick(), [...backups.values()]),
    volumes: () => (tick(), [...volumes.values()]),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
