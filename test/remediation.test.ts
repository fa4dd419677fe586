// Remediation links: critical disk starts the configured disk-emergency workflow, a damaged
// atlas.db starts the configured corruption-recovery workflow — each once, by singleton id.
// The configured types are test names no worker implements: the start itself is what is checked.
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { atlasPaths } from '../src/paths';
import { singletonId } from '../src/temporal/start';
import type { HealthCheckOutcome } from '../workflows/monitoring';
import { useAtlas } from './helpers/atlas';

const t = useAtlas({
  overrides: {
    // Any used disk is "critical" here.
    'thresholds.diskPercent': 0,
    'thresholds.diskCriticalPercent': 0.001,
    'remediation.diskEmergency': 'diskEmergencyProbe',
    'remediation.corruption': 'corruptionRecoveryProbe',
    'remediation.syncOffline': '',
    'monitoring.probeTimeout': '200ms',
  },
  worker: true,
  async beforeTeardown(a) {
    for (const name of ['disk-emergency', 'corruption-recovery']) {
      await a.client.workflow.getHandle(singletonId(a.config, name)).terminate('test over').catch(() => undefined);
    }
  },
});

const check = (deep: boolean) =>
  t.client.workflow.execute('healthCheck', { taskQueue: t.config.taskQueue, workflowId: `health-${Math.random().toString(36).slice(2, 9)}`, args: [{ deep }] }) as Promise<HealthCheckOutcome>;

describe('remediation', () => {
  it('critical disk starts the disk emergency once; a damaged database starts corruption recovery', async () => {
    const first = await check(false);
    expect(first.failing).toEqual(expect.arrayContaining([expect.objectContaining({ metric: 'disk_percent', level: 'critical' })]));
    expect(first.remediationsStarted).toEqual([expect.objectContaining({ remediation: 'diskEmergency', workflowType: 'diskEmergencyProbe', started: true, workflowId: singletonId(t.config, 'disk-emergency') })]);
    expect((await t.client.workflow.getHandle(singletonId(t.config, 'disk-emergency')).describe()).type).toBe('diskEmergencyProbe');
    // Still critical at the next check: no second start.
    expect((await check(false)).remediationsStarted).toEqual([]);

    // Damage the middle of atlas.db, keeping its header.
    const file = atlasPaths(t.home).atlasDb;
    const fd = fs.openSync(file, 'r+');
    fs.writeSync(fd, Buffer.alloc(8192, 0xa5), 0, 8192, 4096 * 2);
    fs.closeSync(fd);
    const damaged = await check(true);
    const dbFailure = damaged.failing.find((f) => f.metric === 'db_quick_check' || f.metric === 'db_open');
    expect(dbFailure).toMatchObject({ level: 'critical' });
    expect(damaged.remediationsStarted).toEqual([expect.objectContaining({ remediation: 'corruption', workflowType: 'corruptionRecoveryProbe', started: true })]);
    expect((await t.client.workflow.getHandle(singletonId(t.config, 'corruption-recovery')).describe()).type).toBe('corruptionRecoveryProbe');
  });
});
