// A local OCI Block Storage emulator for development and tests (127.0.0.1 only: docs/safety.md#loopback-only).
// It speaks the subset of the Core API (20160918) that atlas-ops uses, unsigned: volumes, volume
// backups with their lifecycle (CREATING → AVAILABLE after `availableAfterMs`, deleted → TERMINATED), FAULTY backups and
// injected errors on demand, and opc-retry-token: a retried create returns what the first made.
// Instances and volume attachments (Compute): ATTACHING → ATTACHED and DETACHING → DETACHED after
// `attachmentDelayMs`, or only once `faults.holdAttachments` is cleared, so a test never races a timer;
// attaching a volume attached elsewhere answers 409 naming the attachment, as OCI does.
// Identity's users/{userId}/apiKeys too (upload, list, delete; fingerprints as OCI computes them).
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { listenOn, listenOnPickedPort } from '../ports';
import { ociFingerprint } from '../oci/api-keys';

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

interface VolumeAttachment {
  id: string;
  instanceId: string;
  volumeId: string;
  compartmentId: string;
  availabilityDomain: string;
  attachmentType: string;
  device?: string;
  displayName: string;
  lifecycleState: string;
  timeCreated: string;
  isReadOnly: boolean;
  isShareable: boolean;
  /** When ATTACHING or DETACHING ends (unless held). */
  availableAt: number;
}

interface Instance {
  id: string;
  compartmentId: string;
  availabilityDomain: string;
}
interface ApiKey {
  keyId: string;
  keyValue: string;
  fingerprint: string;
  userId: string;
  timeCreated: string;
  lifecycleState: 'ACTIVE' | 'DELETED';
}

/** OCI allows a user this many API keys. */
const API_KEYS_MAX = 3;

export interface EmulatorFaults {
  /** The next N created backups end FAULTY instead of AVAILABLE. */
  faultyBackups?: number;
  /** The next N creates succeed but answer 500, as when the response is lost: the caller retries. */
  loseCreateResponses?: number;
  /** The next N deletes succeed but answer 500, as when the response is lost: the caller retries. */
  loseDeleteResponses?: number;
  /** While true, a CREATING backup stays CREATING whatever its age: a test holds that state instead of racing the timer. */
  holdCreating?: boolean;
  /** While true, ATTACHING and DETACHING attachments stay so, whatever `attachmentDelayMs` says. */
  holdAttachments?: boolean;
  /** While true, a new volume stays PROVISIONING. */
  holdProvisioning?: boolean;
  /** The next N requests (any) answer with this status and service code. */
  failRequests?: { count: number; status: number; code: string };
}

export interface EmulatorOptions {
  port?: number;
  /** How long a new backup or volume stays CREATING / PROVISIONING. */
  availableAfterMs?: number;
  volumes?: { id: string; compartmentId?: string; availabilityDomain?: string; displayName?: string; sizeInGBs?: number }[];
  /** How long ATTACHING and DETACHING last (default 0: the next look sees ATTACHED / DETACHED). */
  attachmentDelayMs?: number;
  instances?: { id: string; compartmentId?: string; availabilityDomain?: string }[];
  /** Attachments that exist at the start, ATTACHED. */
  attachments?: { volumeId: string; instanceId: string; device?: string }[];
  /** Told of every attachment state change, after it is made: a test's stand-in host shows the device. */
  onAttachmentChange?: (attachment: Readonly<VolumeAttachment>) => void;
}

export interface OciEmulator {
  url: string;
  port: number;
  faults: EmulatorFaults;
  backups(): VolumeBackup[];
  attachments(): VolumeAttachment[];
  /** Test setup: `volumeId` ATTACHED to `instanceId` now, whatever its state (as someone else's doing). */
  seedAttachment(volumeId: string, instanceId: string, device?: string): VolumeAttachment;
  volumes(): Volume[];
  /** Requests seen, as "METHOD path". */
  requests: string[];
  /** A user's API keys (deleted ones too); `addApiKey` gives a user a key, as the console does. */
  apiKeys(userId: string): ApiKey[];
  addApiKey(userId: string, publicKeyPem: string): ApiKey;
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
  const attachmentDelayMs = options.attachmentDelayMs ?? 0;
  const instances = new Map<string, Instance>();
  const attachments = new Map<string, VolumeAttachment>();
  for (const i of options.instances ?? []) {
    instances.set(i.id, { id: i.id, compartmentId: i.compartmentId ?? 'ocid1.compartment.oc1..emulator', availabilityDomain: i.availabilityDomain ?? 'EMU:AD-1' });
  }
  const attachmentOf = (volume: Volume, instance: Instance, device: string | undefined, state: string): VolumeAttachment => ({
    id: ocid('volumeattachment'),
    instanceId: instance.id,
    volumeId: volume.id,
    compartmentId: instance.compartmentId,
    availabilityDomain: instance.availabilityDomain,
    attachmentType: 'paravirtualized',
    device,
    displayName: `${volume.displayName}-attachment`,
    lifecycleState: state,
    timeCreated: new Date().toISOString(),
    isReadOnly: false,
    isShareable: false,
    availableAt: Date.now() + attachmentDelayMs,
  });
  const changed = (a: VolumeAttachment) => options.onAttachmentChange?.(a);
  const apiKeys: ApiKey[] = [];
  const addApiKey = (userId: string, pem: string): ApiKey => {
    const key: ApiKey = { keyId: `ocid1.tenancy.oc1..emulator/${userId}/${ociFingerprint(pem)}`, keyValue: pem, fingerprint: ociFingerprint(pem), userId, timeCreated: new Date().toISOString(), lifecycleState: 'ACTIVE' };
    apiKeys.push(key);
    return key;
  };
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
  for (const a of options.attachments ?? []) {
    const volume = volumes.get(a.volumeId);
    const instance = instances.get(a.instanceId);
    if (!volume || !instance) throw new Error(`attachment of ${a.volumeId} to ${a.instanceId}: both must be among the emulated volumes and instances`);
    const made = attachmentOf(volume, instance, a.device, 'ATTACHED');
    attachments.set(made.id, made);
  }

  // Lifecycle advances with time, read when a resource is looked at.
  const tick = () => {
    const now = Date.now();
    for (const b of backups.values()) if (b.lifecycleState === 'CREATING' && now >= b.availableAt && !faults.holdCreating) b.lifecycleState = b.faulty ? 'FAULTY' : 'AVAILABLE';
    if (!faults.holdProvisioning) for (const v of volumes.values()) if (v.lifecycleState === 'PROVISIONING' && now >= v.availableAt) v.lifecycleState = 'AVAILABLE';
    if (faults.holdAttachments) return;
    for (const a of attachments.values()) {
      if (now < a.availableAt) continue;
      if (a.lifecycleState === 'ATTACHING') a.lifecycleState = 'ATTACHED';
      else if (a.lifecycleState === 'DETACHING') a.lifecycleState = 'DETACHED';
      else continue;
      changed(a);
    }
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
      // Identity API keys (users/{userId}/apiKeys): upload checks the PEM and the limit, as OCI does.
      if ((m = /^\/users\/([^/]+)\/apiKeys\/?(?:([^/]+))?$/.exec(path))) {
        const userId = decodeURIComponent(m[1]!);
        const active = apiKeys.filter((k) => k.userId === userId && k.lifecycleState === 'ACTIVE');
        if (req.method === 'GET' && !m[2]) return send(200, active);
        if (req.method === 'POST' && !m[2]) {
          if (token && tokens.has(token)) return send(200, apiKeys.find((k) => k.keyId === tokens.get(token))!);
          let fingerprint: string;
          try {
            fingerprint = ociFingerprint(String(json.key ?? ''));
          } catch {
            return error(400, 'InvalidParameter', 'key: not a PEM public key');
          }
          if (active.some((k) => k.fingerprint === fingerprint)) return error(409, 'Conflict', `API key ${fingerprint} already exists for user ${userId}`);
          if (active.length >= API_KEYS_MAX) return error(400, 'LimitExceeded', `user ${userId} already has ${API_KEYS_MAX} API keys`);
          const key = addApiKey(userId, String(json.key));
          if (token) tokens.set(token, key.keyId);
          return send(200, key);
        }
        if (req.method === 'DELETE' && m[2]) {
          const key = active.find((k) => k.fingerprint === decodeURIComponent(m![2]!));
          if (!key) return error(404, 'NotAuthorizedOrNotFound', `API key ${m[2]} not found for user ${userId}`);
          key.lifecycleState = 'DELETED';
          res.writeHead(204, { 'opc-request-id': randomBytes(8).toString('hex') });
          return res.end();
        }
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
      if (req.method === 'GET' && path === '/volumeAttachments') {
        // As OCI: compartmentId is required; instanceId, volumeId and availabilityDomain narrow the list.
        const compartmentId = url.searchParams.get('compartmentId');
        if (!compartmentId) return error(400, 'MissingParameter', 'compartmentId is required');
        const q = (name: 'instanceId' | 'volumeId' | 'availabilityDomain') => url.searchParams.get(name);
        const list = [...attachments.values()].filter(
          (a) => a.compartmentId === compartmentId && (!q('instanceId') || a.instanceId === q('instanceId')) && (!q('volumeId') || a.volumeId === q('volumeId')) && (!q('availabilityDomain') || a.availabilityDomain === q('availabilityDomain')),
        );
        return send(200, list.map(pub));
      }
      if (req.method === 'GET' && (m = /^\/volumeAttachments\/([^/]+)$/.exec(path))) {
        const a = attachments.get(decodeURIComponent(m[1]!));
        return a ? send(200, pub(a)) : error(404, 'NotAuthorizedOrNotFound', `volume attachment ${m[1]} not found`);
      }
      if (req.method === 'POST' && path === '/volumeAttachments') {
        if (token && tokens.has(token)) return send(200, pub(attachments.get(tokens.get(token)!)!));
        const volume = volumes.get(String(json.volumeId));
        if (!volume || volume.lifecycleState === 'TERMINATED') return error(404, 'NotAuthorizedOrNotFound', `volume ${String(json.volumeId)} not found`);
        const instance = instances.get(String(json.instanceId));
        if (!instance) return error(404, 'NotAuthorizedOrNotFound', `instance ${String(json.instanceId)} not found`);
        if (volume.lifecycleState !== 'AVAILABLE') return error(409, 'IncorrectState', `volume ${volume.id} is ${volume.lifecycleState}`);
        if (instance.availabilityDomain !== volume.availabilityDomain) {
          return error(400, 'InvalidParameter', `volume ${volume.id} is in ${volume.availabilityDomain}, instance ${instance.id} in ${instance.availabilityDomain}`);
        }
        const live = [...attachments.values()].find((a) => a.volumeId === volume.id && a.lifecycleState !== 'DETACHED');
        if (live) return error(409, 'Conflict', `volume ${volume.id} is already attached (${live.lifecycleState}) to instance ${live.instanceId} by attachment ${live.id}`);
        const device = typeof json.device === 'string' ? json.device : undefined;
        const taken = device && [...attachments.values()].find((a) => a.instanceId === instance.id && a.device === device && a.lifecycleState !== 'DETACHED');
        if (taken) return error(409, 'Conflict', `device ${device} of instance ${instance.id} is in use by attachment ${taken.id}`);
        const a = attachmentOf(volume, instance, device, 'ATTACHING');
        attachments.set(a.id, a);
        if (token) tokens.set(token, a.id);
        changed(a);
        if ((faults.loseCreateResponses ?? 0) > 0) {
          faults.loseCreateResponses!--;
          return error(500, 'InternalServerError', 'response lost (injected by the emulator)');
        }
        return send(200, pub(a));
      }
      if (req.method === 'DELETE' && (m = /^\/volumeAttachments\/([^/]+)$/.exec(path))) {
        // As OCI: detaching an attachment being made, or already going, is refused; a detached one is gone (404).
        const a = attachments.get(decodeURIComponent(m[1]!));
        if (!a || a.lifecycleState === 'DETACHED') return error(404, 'NotAuthorizedOrNotFound', `volume attachment ${m[1]} not found`);
        if (a.lifecycleState !== 'ATTACHED') return error(409, 'IncorrectState', `volume attachment ${a.id} is ${a.lifecycleState}`);
        a.lifecycleState = 'DETACHING';
        a.availableAt = Date.now() + attachmentDelayMs;
        changed(a);
        if ((faults.loseDeleteResponses ?? 0) > 0) {
          faults.loseDeleteResponses!--;
          return error(500, 'InternalServerError', 'response lost (injected by the emulator)');
        }
        res.writeHead(204, { 'opc-request-id': randomBytes(8).toString('hex') });
        return res.end();
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
    apiKeys: (userId) => apiKeys.filter((k) => k.userId === userId),
    addApiKey,
    backups: () => (tick(), [...backups.values()]),
    volumes: () => (tick(), [...volumes.values()]),
    attachments: () => (tick(), [...attachments.values()]),
    seedAttachment: (volumeId, instanceId, device) => {
      const made = attachmentOf(volumes.get(volumeId)!, instances.get(instanceId)!, device, 'ATTACHED');
      attachments.set(made.id, made);
      return made;
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
