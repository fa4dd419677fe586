// Litestream, the replicator of atlas.db (docs/safety.md#continuous-replica): where its binary is,
// the configuration atlas-ops writes for it from its own, and the environment it runs in.
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError, replicaConfigured, type AtlasConfig } from '../config';
import type { AtlasPaths } from '../paths';
import { runCommand, type CommandResult } from '../command-runner';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const installer = require('../../scripts/install-litestream.js') as {
  LITESTREAM_VERSION: string;
  findLitestream(): { path: string; source: string } | undefined;
};
export const { LITESTREAM_VERSION } = installer;

/** The Litestream binary; missing is an error saying how to install it (never a silent skip). */
export function litestreamBinary(): string {
  const found = installer.findLitestream();
  if (!found) {
    throw new Error(`Litestream ${LITESTREAM_VERSION} was not found (LITESTREAM_BIN, PATH, ~/.cache/atlas-ops/litestream-${LITESTREAM_VERSION}/): run \`npm run litestream:install\``);
  }
  return found.path;
}

export interface ReplicaFiles {
  /** litestream.yml, written by atlas-ops from its configuration (never edited by hand). */
  configFile: string;
  /** Litestream's control socket: `info` answering is "the replicator is alive". */
  socket: string;
  /** Last replica position seen, for the lag while the replica cannot be reached. */
  positionFile: string;
  log: string;
}

export function replicaFiles(paths: AtlasPaths): ReplicaFiles {
  return {
    configFile: path.join(paths.runDir, 'litestream.yml'),
    socket: path.join(paths.runDir, 'litestream.sock'),
    positionFile: path.join(paths.runDir, 'replica-position.json'),
    log: path.join(paths.logsDir, 'litestream.log'),
  };
}

/** The replica's address as `s3://bucket/path` plus its endpoint: no keys, safe for logs and reports. */
export function replicaUrl(config: AtlasConfig): string {
  const r = config.replica;
  return `s3://${r.bucket}/${r.path}?endpoint=${r.endpoint}&region=${r.region}`;
}

export interface ReplicaCredentials {
  accessKeyId: string;
  secretAccessKey: string;
}

/** Reads the replica's keys from their file: mode 0600 and both keys, else an error naming the file. */
export function readReplicaCredentials(config: AtlasConfig): ReplicaCredentials {
  const file = config.replica.credentialsFile;
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch {
    throw new ConfigError([`replica.credentialsFile: ${file} does not exist (put {"accessKeyId": …, "secretAccessKey": …} there, mode 0600)`]);
  }
  const mode = (stat.mode & 0o777).toString(8).padStart(4, '0');
  if ((stat.mode & 0o077) !== 0) throw new ConfigError([`replica.credentialsFile: ${file} is mode ${mode}; it holds secret keys and must be 0600 (chmod 600 ${file})`]);
  let parsed: Partial<ReplicaCredentials>;
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<ReplicaCredentials>;
  } catch {
    throw new ConfigError([`replica.credentialsFile: ${file} is not valid JSON (expected {"accessKeyId": …, "secretAccessKey": …})`]);
  }
  for (const key of ['accessKeyId', 'secretAccessKey'] as const) {
    if (typeof parsed[key] !== 'string' || parsed[key] === '') throw new ConfigError([`replica.credentialsFile: ${file} has no "${key}"`]);
  }
  return { accessKeyId: parsed.accessKeyId!, secretAccessKey: parsed.secretAccessKey! };
}

const q = (s: string) => JSON.stringify(s); // a JSON string is a valid YAML double-quoted scalar
const goDuration = (ms: number) => `${ms}ms`;

/**
 * litestream.yml from atlas-ops' configuration: the one source of truth. The keys are not in it
 * (they reach Litestream through its environment, see `litestreamEnv`).
 */
export function litestreamYaml(config: AtlasConfig, paths: AtlasPaths): string {
  const r = config.replica;
  const files = replicaFiles(paths);
  return [
    '# Written by atlas-ops from its configuration (docs/safety.md#continuous-replica); edits are overwritten.',
    'socket:',
    '  enabled: true',
    `  path: ${q(files.socket)}`,
    'dbs:',
    `  - path: ${q(paths.atlasDb)}`,
    '    replica:',
    '      type: s3',
    `      endpoint: ${q(r.endpoint)}`,
    `      bucket: ${q(r.bucket)}`,
    `      path: ${q(r.path)}`,
    `      region: ${q(r.region)}`,
    '      force-path-style: true',
    `      sync-interval: ${goDuration(r.syncInterval)}`,
    // Snapshots are what a point-in-time restore starts from: one per retention/4, kept for the retention.
    `      snapshot-interval: ${goDuration(Math.max(3_600_000, Math.floor(r.retention / 4)))}`,
    `      retention: ${goDuration(r.retention)}`,
    '',
  ].join('\n');
}

/** Writes litestream.yml (and the run directory); returns its path. Refuses when replication is not configured. */
export function writeLitestreamConfig(config: AtlasConfig, paths: AtlasPaths): string {
  if (!replicaConfigured(config)) throw new ConfigError(['replica.endpoint: replication is not configured (set replica.endpoint, replica.bucket and the credentials file)']);
  const files = replicaFiles(paths);
  fs.mkdirSync(paths.runDir, { recursive: true });
  const tmp = `${files.configFile}.tmp`;
  fs.writeFileSync(tmp, litestreamYaml(config, paths), { mode: 0o640 });
  fs.renameSync(tmp, files.configFile);
  return files.configFile;
}

/**
 * The environment Litestream runs in: the keys from the credentials file, and no inherited
 * AWS_CA_BUNDLE. Litestream hands the AWS SDK its own HTTP client, and the SDK then fails on
 * AWS_CA_BUNDLE with "unable to add custom RootCAs HTTPClient" (upstream issue #639). A private CA
 * named in replica.caBundle goes in through SSL_CERT_FILE, which Go's TLS reads instead.
 */
export function litestreamEnv(config: AtlasConfig, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const keys = readReplicaCredentials(config);
  const env: NodeJS.ProcessEnv = { ...base, AWS_ACCESS_KEY_ID: keys.accessKeyId, AWS_SECRET_ACCESS_KEY: keys.secretAccessKey };
  delete env.AWS_CA_BUNDLE;
  delete env.AWS_PROFILE;
  if (config.replica.caBundle) env.SSL_CERT_FILE = config.replica.caBundle;
  // The binary found by the installer's search comes first, so the command runner runs that one.
  env.PATH = `${path.dirname(litestreamBinary())}${path.delimiter}${base.PATH ?? ''}`;
  return env;
}

/** One Litestream command (ltx, restore, status, info) with atlas-ops' configuration, through the command runner. */
export async function litestream(config: AtlasConfig, paths: AtlasPaths, args: string[], timeoutMs = 30_000): Promise<CommandResult> {
  const env = litestreamEnv(config);
  const configFile = writeLitestreamConfig(config, paths);
  const socketCommands = ['info', 'list', 'sync', 'start', 'stop'];
  const withConfig = socketCommands.includes(args[0]!)
    ? [args[0]!, '-socket', replicaFiles(paths).socket, ...args.slice(1)]
    : [args[0]!, '-config', configFile, '-no-expand-env', ...args.slice(1)];
  return runCommand('litestream', withConfig, { env, timeoutMs });
}
