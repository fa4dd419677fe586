// The replica's configuration: every invalid field named, the credentials file refused unless it
// is mode 0600 (naming the file and its mode), the keys kept out of litestream.yml, and the
// commands saying so with exit 2 and nothing changed.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config';
import { ensureHome } from '../src/home';
import { atlasPaths } from '../src/paths';
import { writeDevCredentials } from '../src/replication/dev-s3';
import { litestreamBinary, litestreamEnv, litestreamYaml, readReplicaCredentials } from '../src/replication/litestream';
import { REPO, runCli } from './helpers/env';

function home(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'atlas-replica-config-'));
  ensureHome(dir, { demo: true, seedTasks: 5 });
  return dir;
}

const ok = { 'replica.endpoint': 'https://ns.compat.objectstorage.eu-frankfurt-1.oraclecloud.com', 'replica.bucket': 'atlas-replica', 'replica.region': 'eu-frankfurt-1' };

function problemsOf(h: string, overrides: Record<string, string | number>): string {
  try {
    loadConfig({ env: { ATLAS_HOME: h }, overrides });
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('the configuration was accepted');
}

describe('replica configuration', () => {
  const h = home();

  it('is off by default and on with an endpoint and a bucket', () => {
    expect(loadConfig({ env: { ATLAS_HOME: h } }).replica).toMatchObject({ endpoint: '', syncInterval: 1000, credentialsFile: path.join(h, 'config', 'replica-credentials.json') });
    expect(loadConfig({ env: { ATLAS_HOME: h }, overrides: ok }).replica).toMatchObject({ bucket: 'atlas-replica', region: 'eu-frankfurt-1' });
  });

  it.each([
    [{ 'replica.bucket': 'b-only' }, /replica\.endpoint: required when replica\.bucket is set/],
    [{ 'replica.endpoint': ok['replica.endpoint'] }, /replica\.bucket: required when replica\.endpoint is set/],
    [{ ...ok, 'replica.bucket': 'Not_A_Bucket' }, /replica\.bucket: "Not_A_Bucket" is not a bucket name/],
    [{ ...ok, 'replica.endpoint': 'ftp://x' }, /replica\.endpoint \(from command line\): "ftp:\/\/x" must be an http\(s\) URL/],
    [{ ...ok, 'replica.region': 'EU Frankfurt' }, /replica\.region: "EU Frankfurt" is not a region id/],
    [{ ...ok, 'replica.path': '../other' }, /replica\.path: "\.\.\/other" must be a relative key prefix/],
    [{ ...ok, 'replica.syncInterval': 'often' }, /replica\.syncInterval \(from command line\): "often" is not a duration/],
    [{ ...ok, 'replica.retention': '10m' }, /replica\.retention: .* below the minimum 1h/],
    [{ ...ok, 'replica.credentialsFile': '/etc/keys.json' }, /replica\.credentialsFile: \/etc\/keys\.json must be a file directly in .*config/],
    [{ 'thresholds.replicationLag': '5m', 'thresholds.replicationLagCritical': '1m' }, /thresholds\.replicationLagCritical .* is below thresholds\.replicationLag/],
  ])('%j is refused, naming the field', (overrides, message) => {
    expect(problemsOf(h, overrides)).toMatch(message);
  });

  it('refuses a credentials file with a loose mode, naming the file and the mode', () => {
    const config = loadConfig({ env: { ATLAS_HOME: h }, overrides: ok });
    writeDevCredentials(config.replica.credentialsFile);
    expect(readReplicaCredentials(config)).toEqual({ accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' });
    fs.chmodSync(config.replica.credentialsFile, 0o644);
    expect(() => readReplicaCredentials(config)).toThrow(`replica.credentialsFile: ${config.replica.credentialsFile} is mode 0644; it holds secret keys and must be 0600`);
    fs.rmSync(config.replica.credentialsFile);
    expect(() => readReplicaCredentials(config)).toThrow(/replica\.credentialsFile: .* does not exist/);
  });

  it('keeps the keys out of litestream.yml and AWS_CA_BUNDLE out of Litestream\'s environment', () => {
    const config = loadConfig({ env: { ATLAS_HOME: h }, overrides: ok });
    writeDevCredentials(config.replica.credentialsFile);
    const yaml = litestreamYaml(config, atlasPaths(h));
    expect(yaml).toContain(`bucket: "atlas-replica"`);
    expect(yaml).toContain('sync-interval: 1000ms');
    expect(yaml).not.toContain('S3RVER');
    const env = litestreamEnv(config, { PATH: '/usr/bin', AWS_CA_BUNDLE: '/etc/ssl/certs/ca-certificates.crt' });
    expect(env.AWS_CA_BUNDLE).toBeUndefined();
    expect(env.AWS_ACCESS_KEY_ID).toBe('S3RVER');
    expect(env.PATH!.split(path.delimiter)[0]).toBe(path.dirname(litestreamBinary()));
    const withCa = loadConfig({ env: { ATLAS_HOME: h }, overrides: { ...ok, 'replica.caBundle': 'config/ca.pem' } });
    expect(litestreamEnv(withCa, { PATH: '/usr/bin' }).SSL_CERT_FILE).toBe(path.join(h, 'config', 'ca.pem'));
  });

  it('replication status: exit 2 naming the field or the file mode, nothing written', async () => {
    const h2 = home();
    const before = fs.readdirSync(path.join(h2, 'run'));
    const bad = await runCli(undefined, ['--home', h2, 'replication', 'status'], { ATLAS_REPLICA_ENDPOINT: 'http://127.0.0.1:9', ATLAS_REPLICA_BUCKET: 'x' });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/replica\.bucket: "x" is not a bucket name/);
    const creds = path.join(h2, 'config', 'replica-credentials.json');
    writeDevCredentials(creds);
    fs.chmodSync(creds, 0o640);
    const loose = await runCli(undefined, ['--home', h2, 'replication', 'status'], { ATLAS_REPLICA_ENDPOINT: 'http://127.0.0.1:9', ATLAS_REPLICA_BUCKET: 'atlas-replica' });
    expect(loose.code).toBe(2);
    expect(loose.stderr).toContain(`${creds} is mode 0640`);
    expect(fs.readdirSync(path.join(h2, 'run'))).toEqual(before);
    const off = await runCli(undefined, ['--home', h2, 'replication', 'status', '--json']);
    expect(off.code).toBe(0);
    expect(JSON.parse(off.stdout)).toEqual({ state: 'not configured' });
  });

  it('a missing Litestream is an error saying how to install it, never a silent skip', () => {
    const res = spawnSync(process.execPath, [path.join(REPO, 'scripts', 'install-litestream.js')], {
      env: { PATH: '/nonexistent', HOME: '/nonexistent', XDG_CACHE_HOME: '/nonexistent', LITESTREAM_BIN: '' },
      encoding: 'utf8',
    });
    expect(res.status).toBe(1);
    expect(res.stderr).toMatch(/Litestream was not found and Go is not installed/);
    expect(res.stderr).toContain('LITESTREAM_BIN=');
  });
});
