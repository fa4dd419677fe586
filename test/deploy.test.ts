// The production deployment files against the configuration contract: docker-compose.yml (the
// shape of `atlas-ops cluster up` from the same code: schema steps, server configuration, four
// services, namespace registration; official pinned images, loopback-only ports, worker environment
// known to CONFIG_FIELDS, the Atlas home mounted), the Dockerfile, the systemd unit, and the TLS / API-key connection settings.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { parse } from 'yaml';
import {
  ADMIN_TOOLS_SCHEMA_DIR,
  COMPOSE_FRONTEND,
  COMPOSE_SERVER_ENV,
  COMPOSE_TEMPORAL_DIR,
  COMPOSE_TEMPORAL_ROOT,
  composeFiles,
  composeService,
  renderComposeServerConfig,
  serverScript,
} from '../src/cluster/compose';
import { namespaceRegistration, namespaceScript, namespaceSteps } from '../src/cluster/namespace';
import { schemaScript, schemaSteps, shellScript, type SqlToolStep } from '../src/cluster/schema';
import { renderServerConfig, serverStartArgs } from '../src/cluster/server-config';
import { CLUSTER, SERVICES, retentionHours } from '../src/cluster/settings';
import { ensureTemporalCli } from '../src/temporal/cli-binary';
import { ATLAS_SEARCH_ATTRIBUTES } from '../workflows/search-attributes';
import { CONFIG_FIELDS, ConfigError, loadConfig } from '../src/config';
import { commandFailure } from '../src/command-runner';
import { DEPLOYED_STATE_DIR, FS_UUID, JOURNAL_VACUUM_ARGS, JOURNAL_VACUUM_UNIT, LOGROTATE_CONFIG, VOLUME_MOUNT_UNIT, VOLUME_UMOUNT_UNIT, unitInstance } from '../src/deployed-privileges';
import { polkitRule } from './helpers/polkit';
import { polkitGrants } from './helpers/sandbox';
import { connectionSettings } from '../src/temporal/connect';
import { temporalProto } from '../src/temporal/sdk';
import { REPO, uid } from './helpers/env';
import { readUnit } from './helpers/systemd-unit';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const installer = require('../scripts/install-temporal-cluster.js') as { TOOLS: Record<'server', { find(): unknown }> };

interface Service {
  image?: string;
  build?: unknown;
  ports?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  profiles?: string[];
  entrypoint?: string[];
  command?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
}

const composeText = fs.readFileSync(path.join(REPO, 'docker-compose.yml'), 'utf8');
// merge: the temporal-* services share their image, entrypoint and mount through YAML anchors (<<).
const compose = parse(composeText, { merge: true }) as { services: Record<string, Service> };
const services = compose.services;
const configEnv = new Set(CONFIG_FIELDS.map((f) => f.env).filter(Boolean));
/** What `sh -c` runs: compose writes a literal $ as $$. */
const script = (s: Service) => {
  expect(s.entrypoint).toEqual(['sh', '-c']);
  expect(s.command).toHaveLength(1);
  return s.command![0]!.replace(/\$\$/g, '$');
};
const serverServices = SERVICES.map(composeService);

describe('docker-compose.yml', () => {
  it('has the shape of `atlas-ops cluster up`: PostgreSQL, a schema job, four server containers, a namespace job, the UI, the worker, sqlite-web behind a profile', () => {
    expect(Object.keys(services).sort()).toEqual(
      ['atlas-ops-worker', 'postgresql', 'sqlite-web', 'temporal-namespace', 'temporal-schema', 'temporal-ui', ...serverServices].sort(),
    );
    expect(services.postgresql!.image).toMatch(/^postgres:\d+/);
    expect(composeText).not.toContain('auto-setup');
    for (const name of ['temporal-schema', 'temporal-namespace']) expect(services[name]!.image).toBe(`temporalio/admin-tools:\${TEMPORAL_ADMINTOOLS_VERSION:-${CLUSTER.temporalVersion}}`);
    for (const name of serverServices) expect(services[name]!.image).toBe(`temporalio/server:\${TEMPORAL_VERSION:-${CLUSTER.temporalVersion}}`);
    expect(services['temporal-ui']!.image).toBe(`temporalio/ui:\${TEMPORAL_UI_VERSION:-${CLUSTER.uiVersion}}`);
    expect(services['temporal-ui']!.environment!.TEMPORAL_ADDRESS).toBe(COMPOSE_FRONTEND);
    expect(services['atlas-ops-worker']!.build).toBe('.');
    expect(services['atlas-ops-worker']!.command).toEqual(['worker']);
    expect(services['sqlite-web']!.profiles).toEqual(['sqlite-web']);
    // Pinned: official images carry a version (overridable), never an implicit latest.
    for (const name of ['postgresql', 'temporal-schema', 'temporal-namespace', 'temporal-ui', ...serverServices]) expect(services[name]!.image).toMatch(/:(\$\{[A-Z_]+:-)?\d/);
    // The header says which tags are unverified and which variable overrides each.
    for (const v of ['TEMPORAL_VERSION', 'TEMPORAL_ADMINTOOLS_VERSION', 'TEMPORAL_UI_VERSION']) expect(composeText.split('\nname:')[0]).toContain(v);
  });

  it('is, with the server configuration it mounts, what `npm run compose` generates from src/cluster/', () => {
    const files = composeFiles();
    expect(Object.keys(files)).toEqual(expect.arrayContaining(['docker-compose.yml', `${COMPOSE_TEMPORAL_DIR}/config/${COMPOSE_SERVER_ENV}.yaml`, `${COMPOSE_TEMPORAL_DIR}/dynamicconfig.yaml`]));
    for (const [name, text] of Object.entries(files)) {
      expect(fs.readFileSync(path.join(REPO, name), 'utf8'), `${name} differs from src/cluster/: run \`npm run compose\``).toBe(text);
    }
  });

  it('runs the schema job with the temporal-sql-tool steps cluster up runs, against the compose PostgreSQL, after it is healthy', () => {
    const job = services['temporal-schema']!;
    expect(script(job)).toBe(schemaScript({ host: 'postgresql', port: CLUSTER.ports.postgres, schemaDir: ADMIN_TOOLS_SCHEMA_DIR }));
    // The same steps as cluster up's, differing only in host, port and schema folder.
    const up = schemaSteps({ host: '127.0.0.1', port: 15432, schemaDir: '/go/schema' });
    const composed = schemaSteps({ host: 'postgresql', port: CLUSTER.ports.postgres, schemaDir: ADMIN_TOOLS_SCHEMA_DIR });
    const normal = (steps: SqlToolStep[], host: string, port: number, dir: string) =>
      steps.map((st) => ({ ...st, args: st.args.map((a) => (a === host ? '<host>' : a === String(port) ? '<port>' : a.replace(dir, '<schemas>'))) }));
    expect(normal(composed, 'postgresql', CLUSTER.ports.postgres, ADMIN_TOOLS_SCHEMA_DIR)).toEqual(normal(up, '127.0.0.1', 15432, '/go/schema'));
    expect(up.map((st) => `${st.db} ${st.what}`)).toEqual(['temporal create-database', 'temporal setup-schema', 'temporal update-schema', 'temporal_visibility create-database', 'temporal_visibility setup-schema', 'temporal_visibility update-schema']);
    expect(job.environment).toEqual({ SQL_PASSWORD: '${POSTGRES_PASSWORD:-temporal}' });
    expect(job.depends_on).toEqual({ postgresql: { condition: 'service_healthy' } });
  });

  it('the rendered script treats "already exists" as done and stops at any other failure, as cluster up does', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'atlas-compose-sh-'));
    try {
      const calls = path.join(dir, 'calls');
      // A stand-in temporal-sql-tool: records its arguments; FAIL_ON=<word>:<text> makes the step naming <word> fail with <text>.
      fs.writeFileSync(
        path.join(dir, 'temporal-sql-tool'),
        '#!/bin/sh\necho "$*" >> "$CALLS"\ncase " $* " in *" ${FAIL_ON%%:*} "*) echo "${FAIL_ON#*:}" >&2; exit 1;; esac\n',
        { mode: 0o755 },
      );
      const target = { host: 'postgresql', port: 5432, schemaDir: ADMIN_TOOLS_SCHEMA_DIR };
      const run = (failOn: string) => {
        fs.rmSync(calls, { force: true });
        const res = spawnSync('sh', ['-c', schemaScript(target)], { env: { PATH: `${dir}:${process.env.PATH}`, CALLS: calls, FAIL_ON: failOn }, encoding: 'utf8' });
        return { status: res.status, calls: fs.existsSync(calls) ? fs.readFileSync(calls, 'utf8').trim().split('\n') : [] };
      };
      const all = schemaSteps(target).map((st) => st.args.join(' '));
      expect(run('create-database:database "temporal" already exists')).toEqual({ status: 0, calls: all });
      expect(run('setup-schema:pq: relation "schema_version" already exists')).toEqual({ status: 0, calls: all });
      const refused = run('setup-schema:dial tcp: connect: connection refused');
      expect(refused.status).not.toBe(0);
      expect(refused.calls).toEqual(all.slice(0, 2));
      const old = run('update-schema:schema version too old');
      expect(old.status).not.toBe(0);
      expect(old.calls).toEqual(all.slice(0, 3));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('runs four server containers, one distinct --service each, on the mounted configuration the renderer wrote', () => {
    const started = serverServices.map((name) => {
      const s = services[name]!;
      const text = script(s);
      expect(text).toBe(serverScript(name.replace('temporal-', '') as (typeof SERVICES)[number]));
      expect(s.volumes).toEqual([`./${COMPOSE_TEMPORAL_DIR}:${COMPOSE_TEMPORAL_ROOT}:ro`]);
      expect(s.environment).toEqual({ POSTGRES_PASSWORD: '${POSTGRES_PASSWORD:-temporal}' });
      return /--service (\w+)$/m.exec(text)![1];
    });
    expect(started).toEqual([...SERVICES]);
    for (const name of ['temporal-frontend', 'temporal-history', 'temporal-matching']) expect(services[name]!.depends_on).toEqual({ 'temporal-schema': { condition: 'service_completed_successfully' } });
    expect(services['temporal-worker']!.depends_on).toEqual({ 'temporal-frontend': { condition: 'service_healthy' } });
    expect(services['temporal-frontend']!.healthcheck!.test).toContain(`127.0.0.1:${CLUSTER.ports.grpc.frontend}`);
    // The mounted file is the renderer's output, and the server loads config/<env>.yaml under --root.
    const args = serverStartArgs(COMPOSE_TEMPORAL_ROOT, COMPOSE_SERVER_ENV, 'history');
    expect(script(services['temporal-history']!)).toContain(`exec temporal-server ${args.join(' ')}`);
    const mounted = fs.readFileSync(path.join(REPO, COMPOSE_TEMPORAL_DIR, 'config', `${COMPOSE_SERVER_ENV}.yaml`), 'utf8');
    expect(mounted).toBe(renderComposeServerConfig());
    // The server renders it as a template only with "enable-template" in a comment in its first 1 KB.
    expect(mounted.slice(0, 1024).split('\n').some((l) => l.startsWith('#') && l.includes('enable-template'))).toBe(true);
  });

  it('gives the compose servers cluster up\'s configuration, with compose addresses and the password from the environment', () => {
    type Server = {
      persistence: { numHistoryShards: number; datastores: Record<string, { sql: { connectAddr: string; password: string } }> };
      global: { membership: { broadcastAddress: string } };
      services: Record<string, { rpc: { bindOnIP: string } }>;
      clusterMetadata: { clusterInformation: { active: { rpcAddress: string } } };
      dynamicConfigClient: { filepath: string };
    };
    const composed = parse(renderComposeServerConfig()) as Server;
    const up = parse(renderServerConfig({ ports: CLUSTER.ports, postgresPassword: 'pw', dynamicConfigFile: '/x/dynamicconfig.yaml' })) as Server;
    for (const ds of Object.values(composed.persistence.datastores)) {
      expect(ds.sql.connectAddr).toBe(`postgresql:${CLUSTER.ports.postgres}`);
      expect(ds.sql.password).toBe('{{ env "POSTGRES_PASSWORD" }}');
    }
    expect(Object.values(composed.services).map((s) => s.rpc.bindOnIP)).toEqual(SERVICES.map(() => '0.0.0.0'));
    expect(composed.global.membership.broadcastAddress).toBe('{{ env "TEMPORAL_BROADCAST_ADDRESS" }}');
    expect(serverScript('matching')).toMatch(/^export TEMPORAL_BROADCAST_ADDRESS=/);
    expect(composed.clusterMetadata.clusterInformation.active.rpcAddress).toBe(COMPOSE_FRONTEND);
    expect(composed.dynamicConfigClient.filepath).toBe(`${COMPOSE_TEMPORAL_ROOT}/dynamicconfig.yaml`);
    // Everything else is cluster up's: shards, ports, databases, cluster metadata, TLS off.
    const addressesOut = (c: Server) => {
      const copy = structuredClone(c);
      for (const ds of Object.values(copy.persistence.datastores)) Object.assign(ds.sql, { connectAddr: '-', password: '-' });
      for (const sv of Object.values(copy.services)) sv.rpc.bindOnIP = '-';
      copy.global.membership.broadcastAddress = '-';
      copy.clusterMetadata.clusterInformation.active.rpcAddress = '-';
      copy.dynamicConfigClient.filepath = '-';
      return copy;
    };
    expect(addressesOut(composed)).toEqual(addressesOut(up));
    expect(composed.persistence.numHistoryShards).toBe(CLUSTER.numHistoryShards);
  });

  const serverBinary = (installer.TOOLS.server.find() as { path: string } | undefined)?.path;
  it.skipIf(!serverBinary)('the mounted configuration is loaded by the real 1.29.1 server, its template rendered from the container\'s environment', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'atlas-compose-server-'));
    try {
      // Outside compose the mount point does not exist: the copy names its dynamic configuration here.
      fs.mkdirSync(path.join(root, 'config'));
      const mounted = path.join(REPO, COMPOSE_TEMPORAL_DIR);
      const config = fs.readFileSync(path.join(mounted, 'config', `${COMPOSE_SERVER_ENV}.yaml`), 'utf8');
      fs.writeFileSync(path.join(root, 'config', `${COMPOSE_SERVER_ENV}.yaml`), config.replace(`${COMPOSE_TEMPORAL_ROOT}/dynamicconfig.yaml`, path.join(root, 'dynamicconfig.yaml')));
      fs.copyFileSync(path.join(mounted, 'dynamicconfig.yaml'), path.join(root, 'dynamicconfig.yaml'));
      const start = (password: string) => {
        const res = spawnSync(serverBinary!, serverStartArgs(root, COMPOSE_SERVER_ENV, 'history'), {
          env: { PATH: process.env.PATH, POSTGRES_PASSWORD: password, TEMPORAL_BROADCAST_ADDRESS: '127.0.0.1' },
          encoding: 'utf8',
          timeout: 60_000,
        });
        return { status: res.status, out: `${res.stdout}${res.stderr}` };
      };
      // Loaded and validated: it stops only where it needs the compose network's PostgreSQL.
      const ok = start('pw');
      expect(ok.status, ok.out).toBe(1);
      expect(ok.out).not.toMatch(/config file corrupted/);
      expect(ok.out).toMatch(/no usable database connection found/);
      // The password is rendered into the file before YAML reads it: a single quote breaks it (README).
      const quoted = start("a'b");
      expect(quoted.out).toMatch(/config file corrupted: yaml/);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  }, 150_000);

  it('registers the namespace as cluster up does, once the frontend is healthy; the worker starts after it', () => {
    const job = services['temporal-namespace']!;
    expect(script(job)).toBe(namespaceScript(COMPOSE_FRONTEND));
    const r = namespaceRegistration();
    expect(r).toEqual({ namespace: CLUSTER.namespace, retentionHours: retentionHours(CLUSTER.retention), searchAttributes: ATLAS_SEARCH_ATTRIBUTES.map((k) => k.name) });
    expect(script(job)).toContain(`--namespace ${r.namespace} --retention ${r.retentionHours}h`);
    for (const name of r.searchAttributes) expect(script(job)).toContain(`--name ${name} --type Keyword`);
    expect(job.depends_on).toEqual({ 'temporal-frontend': { condition: 'service_healthy' } });
    expect(services['atlas-ops-worker']!.depends_on).toEqual({ 'temporal-namespace': { condition: 'service_completed_successfully' } });
    expect(services['atlas-ops-worker']!.environment!.TEMPORAL_NAMESPACE).toBe(r.namespace);
  });

  it('the namespace job\'s commands, run twice with the temporal CLI against a real server, leave the namespace cluster up registers', async () => {
    const cli = await ensureTemporalCli();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'atlas-compose-ns-'));
    fs.symlinkSync(cli.path, path.join(dir, 'temporal'));
    const address = inject('temporalAddress');
    const registration = { ...namespaceRegistration(), namespace: `compose-${uid()}` };
    const sh = shellScript('temporal', namespaceSteps(address, registration));
    try {
      for (const round of [1, 2]) {
        const res = spawnSync('sh', ['-c', sh], { env: { ...process.env, PATH: `${dir}:${process.env.PATH}` }, encoding: 'utf8', timeout: 60_000 });
        expect(res.status, `round ${round}: ${res.stdout}${res.stderr}`).toBe(0);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    const connection = await Connection.connect({ address });
    try {
      const ns = await connection.workflowService.describeNamespace({ namespace: registration.namespace });
      expect(Number(ns.config!.workflowExecutionRetentionTtl!.seconds)).toBe(registration.retentionHours * 3600);
      const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace: registration.namespace });
      for (const name of registration.searchAttributes) expect(customAttributes![name], name).toBe(temporalProto().temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD);
    } finally {
      await connection.close();
    }
  });

  it('binds every published port to 127.0.0.1 only, and publishes only the frontend, the UI and sqlite-web', () => {
    const published = Object.entries(services).flatMap(([name, s]) => (s.ports ?? []).map((p) => [name, String(p)]));
    expect(published.map(([name]) => name).sort()).toEqual(['sqlite-web', 'temporal-frontend', 'temporal-ui']);
    for (const [name, port] of published) expect(port, `${name} publishes ${port}`).toMatch(/^127\.0\.0\.1:\d+:\d+$/);
    expect(services['temporal-frontend']!.ports).toEqual([`127.0.0.1:${CLUSTER.ports.grpc.frontend}:${CLUSTER.ports.grpc.frontend}`]);
  });

  it('gives the worker only settings the configuration knows, Temporal by environment, and the home mounted', () => {
    const env = services['atlas-ops-worker']!.environment!;
    for (const key of Object.keys(env)) expect(configEnv.has(key), `${key} is not a CONFIG_FIELDS variable`).toBe(true);
    expect(env.TEMPORAL_ADDRESS).toBe(COMPOSE_FRONTEND);
    const mounts = services['atlas-ops-worker']!.volumes!.map((v) => v.split(':').at(-1));
    expect(mounts).toContain(env.ATLAS_HOME);
    // The values that are not interpolated must pass the configuration's own validation.
    const literal = Object.fromEntries(Object.entries(env).filter(([, v]) => !v.includes('${')));
    const config = loadConfig({ env: literal });
    expect(config.temporal.address).toBe(COMPOSE_FRONTEND);
    expect(config.home).toBe('/opt/atlas');
  });

  it('links the worker to the UI and sqlite-web ports it publishes', () => {
    const hostPort = (service: string) => Number(services[service]!.ports![0]!.split(':')[1]);
    const env = services['atlas-ops-worker']!.environment!;
    expect(new URL(env.ATLAS_TEMPORAL_UI_URL!).port).toBe(String(hostPort('temporal-ui')));
    expect(hostPort('sqlite-web')).toBe(loadConfig({ env: {} }).sqliteWeb.port);
    expect(services['sqlite-web']!.volumes![0]!.split(':').at(-1)).toBe('/data');
  });

  it('builds the worker image from the repository, running `atlas-ops worker`', () => {
    const dockerfile = fs.readFileSync(path.join(REPO, 'Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/^FROM node:20/m);
    expect(dockerfile).toMatch(/npm ci --omit=dev/);
    expect(dockerfile).toMatch(/^ENTRYPOINT \["node", "bin\/atlas-ops\.js"\]$/m);
    expect(dockerfile).toMatch(/^CMD \["worker"\]$/m);
    expect(dockerfile).toMatch(/^USER node$/m);
    for (const dir of ['bin', 'src', 'activities', 'workflows']) expect(dockerfile).toContain(`COPY ${dir} ./${dir}`);
    expect(fs.readFileSync(path.join(REPO, '.dockerignore'), 'utf8')).toMatch(/^node_modules$/m);
  });
});

describe('deploy/systemd/atlas-ops-worker.service', () => {
  const { text: unit, values } = readUnit('atlas-ops-worker.service');

  it('runs the worker as the atlas user, restarts it, and takes settings from an environment file', () => {
    expect(values('ExecStart')).toEqual(['/usr/bin/node /opt/atlas-ops/bin/atlas-ops.js worker']);
    expect(values('User')).toEqual(['atlas']);
    expect(values('Restart')).toEqual(['on-failure']);
    expect(values('EnvironmentFile')).toEqual(['-/etc/atlas-ops/worker.env']);
    expect(values('ReadWritePaths')).toEqual(['/opt/atlas']);
    expect(unit).toMatch(/^\[Install\]\nWantedBy=multi-user\.target$/m);
  });

  it('names only variables the configuration knows, and secrets only as files', () => {
    const set = values('Environment').map((v) => v.split('=')[0]!);
    const documented = [...unit.matchAll(/^#\s+([A-Z_]+)=/gm)].map((m) => m[1]!);
    for (const key of [...set, ...documented]) {
      if (key === 'NODE_ENV') continue;
      expect(configEnv.has(key), `${key} is not a CONFIG_FIELDS variable`).toBe(true);
    }
    expect(documented).toEqual(expect.arrayContaining(['TEMPORAL_ADDRESS', 'ATLAS_TEMPORAL_API_KEY_FILE', 'TEMPORAL_TLS_CLIENT_CERT_PATH', 'TEMPORAL_TLS_CLIENT_KEY_PATH']));
    expect(unit).not.toMatch(/API_KEY=/);
  });
});

describe('what the deployed worker is granted (deploy/polkit, deploy/logrotate, the journal vacuum unit)', () => {
  const worker = readUnit('atlas-ops-worker.service');
  const defaults = loadConfig({ env: {} });

  it('the polkit rule names the worker\'s user and grants exactly start/stop of the units atlas-ops manages', () => {
    const rule = fs.readFileSync(path.join(REPO, 'deploy', 'polkit', '50-atlas-ops.rules'), 'utf8');
    expect(rule).toContain(`var user = "${worker.one('User')}";`);
    const grants = polkitGrants();
    const managed = { ...Object.fromEntries(defaults.app.units.map((u) => [u, ['start', 'stop']])), [defaults.replica.unit]: ['start', 'stop'], [JOURNAL_VACUUM_UNIT]: ['start'], [VOLUME_UMOUNT_UNIT]: ['start'] };
    expect(grants).toEqual(managed);
    expect(rule).toContain('action.id !== "org.freedesktop.systemd1.manage-units"');
  });

  it('the polkit rule, evaluated: the worker\'s user may start the granted units and Option C\'s mount for a UUID instance only, nothing else', () => {
    const decide = polkitRule();
    const user = worker.one('User');
    const uuid = '0f3c6a2e-5b1d-4c4c-9e9e-0123456789ab';
    const mount = (instance: string) => unitInstance(VOLUME_MOUNT_UNIT, instance);
    // Every grant of the table, and no other verb on those units.
    for (const [unit, verbs] of Object.entries(polkitGrants())) {
      for (const verb of ['start', 'stop', 'restart', 'reload', 'enable']) expect(decide({ user, unit, verb }), `${verb} ${unit}`).toBe(verbs.includes(verb) ? 'yes' : 'not_handled');
    }
    expect(decide({ user, unit: VOLUME_UMOUNT_UNIT, verb: 'start' })).toBe('yes');
    expect(decide({ user, unit: VOLUME_UMOUNT_UNIT, verb: 'stop' })).toBe('not_handled');
    expect(decide({ user, unit: mount(uuid), verb: 'start' })).toBe('yes');
    expect(decide({ user, unit: mount(uuid.toUpperCase()), verb: 'start' })).toBe('yes');
    for (const verb of ['stop', 'restart', 'reload-or-restart']) expect(decide({ user, unit: mount(uuid), verb }), verb).toBe('not_handled');
    // The instance is a file system UUID or nothing: no paths, options, other shapes or other units.
    const notUuids = ['', 'ABCD-1234', `${uuid}0`, `x${uuid}`, uuid.replace(/-/g, ''), `${uuid}-opt-evil`, '..-..-..-..-..', '0f3c6a2e-5b1d-4c4c-9e9e-0123456789ag', `${uuid}\n`, `${uuid}.service-x`, '-o remount,rw /'];
    for (const bad of notUuids) {
      expect(decide({ user, unit: mount(bad), verb: 'start' }), JSON.stringify(bad)).toBe('not_handled');
      // The worker's own check agrees with the rule, so it never asks for what the rule refuses.
      expect(FS_UUID.test(bad), JSON.stringify(bad)).toBe(false);
    }
    expect(FS_UUID.test(uuid)).toBe(true);
    expect(decide({ user, unit: VOLUME_MOUNT_UNIT, verb: 'start' })).toBe('not_handled');
    expect(decide({ user, unit: `other-mount@${uuid}.service`, verb: 'start' })).toBe('not_handled');
    expect(decide({ user, unit: 'constructor', verb: 'start' })).toBe('not_handled');
    expect(decide({ user, unit: 'sshd.service', verb: 'stop' })).toBe('not_handled');
    // Another user, or another action, is not this rule's business.
    for (const unit of [mount(uuid), VOLUME_UMOUNT_UNIT, JOURNAL_VACUUM_UNIT, defaults.replica.unit]) {
      expect(decide({ user: 'nobody', unit, verb: 'start' }), unit).toBe('not_handled');
      expect(decide({ user, unit, verb: 'start', actionId: 'org.freedesktop.login1.reboot' }), unit).toBe('not_handled');
    }
  });

  it('Option C\'s volume units mount and unmount only the mount point the worker\'s configuration names, as root, in the host\'s mount namespace', () => {
    const env = worker.environment();
    expect([env.ATLAS_OCI_MOUNT_UNIT, env.ATLAS_OCI_UMOUNT_UNIT]).toEqual([VOLUME_MOUNT_UNIT, VOLUME_UMOUNT_UNIT]);
    const deployed = loadConfig({ env });
    expect([deployed.oci.mountUnit, deployed.oci.umountUnit]).toEqual([VOLUME_MOUNT_UNIT, VOLUME_UMOUNT_UNIT]);
    const mp = deployed.oci.mountPoint;
    expect(mp).toBe(env.ATLAS_HOME);
    const mount = readUnit(VOLUME_MOUNT_UNIT);
    const umount = readUnit(VOLUME_UMOUNT_UNIT);
    // The instance (%i) is the UUID and nothing else; the mount point is fixed, never from the instance.
    expect(mount.one('ExecStart')).toBe(`/usr/bin/mount -o nosuid,nodev UUID=%i ${mp}`);
    expect(mount.one('ExecStartPre')).toContain(`/usr/bin/mountpoint -q ${mp};`);
    expect(mount.directives.filter(([k, v]) => k.startsWith('Exec') && /%[iIn]/.test(v)).map(([k]) => k)).toEqual(['ExecStart']);
    expect(umount.one('ExecStart')).toBe(`/usr/bin/umount ${mp}`);
    for (const u of [mount, umount]) {
      expect(u.one('Type')).toBe('oneshot');
      expect(u.values('User')).toEqual([]);
      expect(u.text).not.toMatch(/^\[Install\]/m);
      expect(u.one('CapabilityBoundingSet')).toBe('CAP_SYS_ADMIN');
      expect(u.one('NoNewPrivileges')).toBe('true');
      expect(u.one('PrivateMounts')).toBe('no');
      // Each of these would give the unit a mount namespace of its own: its mount would not be the host's.
      const namespaced = ['ProtectSystem', 'ProtectHome', 'PrivateTmp', 'PrivateDevices', 'PrivateNetwork', 'ReadWritePaths', 'ReadOnlyPaths', 'InaccessiblePaths', 'TemporaryFileSystem', 'BindPaths', 'ProtectKernelTunables', 'ProtectKernelModules', 'ProtectControlGroups', 'RootDirectory'];
      expect(u.directives.map(([k]) => k).filter((k) => namespaced.includes(k))).toEqual([]);
    }
  });

  it('Option C\'s stash defaults to the worker unit\'s state directory: writable by it, off the data volume, kept across restarts', () => {
    const env = worker.environment();
    const deployed = loadConfig({ env });
    expect(`/var/lib/${worker.one('StateDirectory')}`).toBe(DEPLOYED_STATE_DIR);
    expect(worker.one('StateDirectoryMode')).toBe('0700');
    expect(path.dirname(deployed.oci.swapStashDir)).toBe(DEPLOYED_STATE_DIR);
    expect(defaults.oci.swapStashDir).toBe(deployed.oci.swapStashDir);
    // Not under the home the volume is mounted at, nor under the private /tmp, /var/tmp systemd empties.
    for (const gone of [deployed.oci.mountPoint, ...worker.values('ReadWritePaths'), '/tmp', '/var/tmp']) {
      expect(deployed.oci.swapStashDir.startsWith(`${gone}/`), gone).toBe(false);
    }
  });

  it('the worker unit starts the vacuum unit, which runs the vacuum the disk emergency asks for, as root', () => {
    expect(worker.environment().ATLAS_JOURNAL_VACUUM_UNIT).toBe(JOURNAL_VACUUM_UNIT);
    const vacuum = readUnit(JOURNAL_VACUUM_UNIT);
    expect(vacuum.one('Type')).toBe('oneshot');
    expect(vacuum.one('ExecStart')).toBe(['/usr/bin/journalctl', ...JOURNAL_VACUUM_ARGS].join(' '));
    expect(vacuum.values('User')).toEqual([]);
    expect(vacuum.text).not.toMatch(/^\[Install\]/m);
  });

  it('logrotate\'s configuration rotates only files in the home the unit lets the worker write', () => {
    const conf = fs.readFileSync(path.join(REPO, LOGROTATE_CONFIG), 'utf8');
    const home = worker.environment().ATLAS_HOME!;
    expect(worker.values('ReadWritePaths')).toEqual([home]);
    const targets = conf.split('\n').filter((l) => /^\S.*\{\s*$/.test(l)).map((l) => l.replace(/\s*\{\s*$/, ''));
    expect(targets).toEqual([`${home}/logs/*.log`]);
    expect(conf).not.toMatch(/^\s*(su|create|olddir)\b/m);
    expect(conf).toContain(`-s ${home}/run/logrotate.state ${home}/config/logrotate.conf`);
    expect(path.relative(defaults.home, defaults.diskEmergency.logrotateConfig)).toBe('config/logrotate.conf');
  });

  it('a refused command fails as PrivilegeMissing naming the grant; any other failure stays CommandFailed (retried)', () => {
    const refused = commandFailure({ command: 'systemctl', args: ['start', JOURNAL_VACUUM_UNIT], code: 1, stdout: '', stderr: `Failed to start ${JOURNAL_VACUUM_UNIT}: Access denied` }, 'the polkit rule');
    expect(refused.type).toBe('PrivilegeMissing');
    expect(refused.nonRetryable).toBe(true);
    expect(refused.message).toMatch(new RegExp(`may not \`systemctl start ${JOURNAL_VACUUM_UNIT}\` \\(polkit refused it\\): the polkit rule$`));
    const readOnly = commandFailure({ command: 'journalctl', args: JOURNAL_VACUUM_ARGS, code: 1, stdout: '', stderr: 'Failed to delete /var/log/journal/x/system@1.journal: Read-only file system' }, 'set diskEmergency.journalVacuumUnit');
    expect(readOnly.type).toBe('PrivilegeMissing');
    expect(readOnly.message).toContain('(Read-only file system): set diskEmergency.journalVacuumUnit');
    const other = commandFailure({ command: 'logrotate', args: ['-f'], code: 1, stdout: '', stderr: 'error: bad line 3' }, 'unused');
    expect(other.type).toBe('CommandFailed');
    expect(other.message).toBe('`logrotate -f` exited 1: error: bad line 3');
  });
});

describe('connecting to a remote Temporal with TLS or an API key', () => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'atlas-tls-'));
  fs.mkdirSync(path.join(home, 'config'));
  const write = (name: string, text: string) => {
    fs.writeFileSync(path.join(home, 'config', name), text, { mode: 0o600 });
    return `config/${name}`;
  };
  const cert = write('client.pem', '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
  // A stand-in key file, its PEM labels assembled so that no key-looking text is tracked in git.
  const pem = (label: string, body: string) => `-----BEGIN ${label}-----\n${body}\n-----END ${label}-----\n`;
  const key = write('client.key', pem(['PRIVATE', 'KEY'].join(' '), 'secret-key-material'));
  const apiKey = write('temporal-api-key', 'tmprl-secret-api-key\n');
  afterAll(() => fs.rmSync(home, { recursive: true, force: true }));

  it('is plain by default, and reads the API key from its file (TLS on)', () => {
    expect(connectionSettings(loadConfig({ env: { ATLAS_HOME: home } }))).toEqual({ address: '127.0.0.1:7233' });
    const s = connectionSettings(loadConfig({ env: { ATLAS_HOME: home, TEMPORAL_ADDRESS: 'ns.a1b2.tmprl.cloud:7233', ATLAS_TEMPORAL_API_KEY_FILE: apiKey } }));
    expect(s).toEqual({ address: 'ns.a1b2.tmprl.cloud:7233', apiKey: 'tmprl-secret-api-key', tls: true });
  });

  it('builds mTLS from the certificate files, relative to the home', () => {
    const s = connectionSettings(loadConfig({ env: { ATLAS_HOME: home, TEMPORAL_TLS_CLIENT_CERT_PATH: cert, TEMPORAL_TLS_CLIENT_KEY_PATH: key, TEMPORAL_TLS_SERVER_NAME: 'temporal.internal' } }));
    expect(s.tls).toMatchObject({ serverNameOverride: 'temporal.internal' });
    const pair = (s.tls as { clientCertPair: { crt: Buffer; key: Buffer } }).clientCertPair;
    expect(pair.crt.toString()).toContain('BEGIN CERTIFICATE');
    expect(pair.key.toString()).toContain('secret-key-material');
  });

  it('names the field when a file is missing or settings contradict, without showing a secret', () => {
    expect(() => loadConfig({ env: { ATLAS_HOME: home, TEMPORAL_TLS_CLIENT_CERT_PATH: cert } })).toThrow(/temporal\.tlsCert and temporal\.tlsKey: give both/);
    expect(() => loadConfig({ env: { ATLAS_HOME: home, ATLAS_TEMPORAL_TLS: 'off', ATLAS_TEMPORAL_API_KEY_FILE: apiKey } })).toThrow(/temporal\.tls: "off" contradicts/);
    expect(() => loadConfig({ env: { ATLAS_HOME: home, ATLAS_TEMPORAL_TLS: 'sometimes' } })).toThrow(/temporal\.tls \(from ATLAS_TEMPORAL_TLS\): "sometimes" is not one of auto, on, off/);
    let err: unknown;
    try {
      connectionSettings(loadConfig({ env: { ATLAS_HOME: home, TEMPORAL_TLS_CLIENT_CERT_PATH: cert, TEMPORAL_TLS_CLIENT_KEY_PATH: 'config/missing.key' } }));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(/temporal\.tlsKey: cannot read .*missing\.key \(ENOENT\)/);
    expect((err as Error).message).not.toContain('secret');
  });
});
