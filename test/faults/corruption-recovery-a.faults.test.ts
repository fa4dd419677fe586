// Fault suite, corruption recovery Option A (docs/safety.md#durable-progress): the worker is SIGKILLed
// at each step boundary of Option A (keep a copy of the files, WAL checkpoint, check again) and
// inside the copy and the checkpoint (killed from outside at a file event: both are synchronous,
// so a timer inside the worker could not strike during them). A fresh worker takes over; the
// procedure completes with each effect once: the pre-checkpoint files kept once, byte for byte,
// atlas.db sound with every whole commit of the WAL, no flag, no lock, schedules unpaused.
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { atlasPaths, type AtlasPaths } from '../../src/paths';
import { padAtlasDb } from '../../src/db/demo-seed';
import type { CorruptionRecoveryResult } from '../../workflows/corruption-recovery';
import { startAtlas } from '../helpers/atlas';
import { createSchedules } from '../helpers/env';
import { corruptLastWalFrame, leaveCommitsInWal, marks } from '../helpers/corrupt';
import { faultWorker, killOnFileEvent } from './checks';
import { evidenceLost, expectEvidenceKeptOnce, expectReleasedOnce, expectSound, filesNow, keptFiles, SCHEDULES, startRecovery } from './recovery-checks';
import { recordFault } from './report';

/**
 * Option A's kill points. "copy" and "checkpoint" are killed from outside: when the first copy of
 * the evidence shows up as a .tmp file, and at the checkpoint's first write to atlas.db. `inside`
 * tells, once the worker is dead, that the kill struck inside the step and not after it.
 */
const A_POINTS = ['preserveEvidence:before', 'copy', 'preserveEvidence:after', 'checkpointAtlasDb:before', 'checkpoint', 'checkpointAtlasDb:after', 'checkAtlasDb#2:after'];
type Before = ReturnType<typeof filesNow>;
const A_FROM_OUTSIDE: Record<string, { hit: (name: string, event: string) => boolean; inside: (paths: AtlasPaths, before: Before) => boolean }> = {
  copy: {
    hit: (name) => /^atlas\.db\.pre-checkpoint-.*\.tmp$/.test(name),
    inside: (paths) => keptFiles(paths).some((f) => f.endsWith('.tmp')),
  },
  checkpoint: {
    hit: (name, event) => name === 'atlas.db' && event === 'change',
    // Begun: atlas.db has changed. Not finished: a finished checkpoint closes the database, and
    // the last close removes the WAL.
    inside: (paths, before) => fs.existsSync(`${paths.atlasDb}-wal`) && filesNow(paths).db !== before.db,
  },
};

// Concurrent: each case mostly waits for Temporal to notice the dead worker (activity timeouts).
describe.concurrent('corruptionRecovery (Option A) under SIGKILL', { timeout: 240_000 }, () => {
  for (const point of A_POINTS) {
    it(`checkpoints once and keeps the files as they were when the worker dies at ${point}`, async () => {
      const t = await startAtlas();
      const paths = atlasPaths(t.home);
      const outside = A_FROM_OUTSIDE[point];
      // Ten commits in the WAL, the last one in a damaged frame. A kill from outside needs files
      // large enough that copying them and checkpointing the WAL take a while to land in.
      if (outside) padAtlasDb(paths.atlasDb, 16);
      leaveCommitsInWal(paths.atlasDb, 10, outside ? 1_200_000 : 0);
      corruptLastWalFrame(paths.atlasDb);
      const before = filesNow(paths);
      await createSchedules(t, SCHEDULES);
      const worker = faultWorker(t, {}, outside ? undefined : point);
      const watcher = outside && killOnFileEvent(paths.dataDir, outside.hit, worker.kill);
      let survived = false;
      let dataLost = 0;
      try {
        const handle = await startRecovery(t, point, false);
        await worker.restarted(point);
        if (outside) expect(outside.inside(paths, before)).toBe(true);
        const r = (await handle.result()) as CorruptionRecoveryResult;

        expect(r.outcome).toBe('completed');
        expect(r.method).toBe('A');
        expect(r.optionA?.checkAfter?.ok).toBe(true);
        expectSound(paths);
        // Nine commits survive; the tenth sat in the damaged frame.
        expect(marks(paths.atlasDb)).toBe(9);
        expectEvidenceKeptOnce(paths, before, r);
        expect(fs.readdirSync(paths.dataDir).filter((f) => /\.(corrupted-|restored)/.test(f))).toEqual([]);
        await expectReleasedOnce(t, r);
        survived = true;
      } catch (err) {
        // Data lost: the kept copy, or a commit that was whole in the WAL.
        dataLost = evidenceLost(paths, before);
        try {
          dataLost += Math.max(0, 9 - marks(paths.atlasDb));
        } catch {
          dataLost += 9;
        }
        throw err;
      } finally {
        recordFault({ fault: `corruptionRecovery A: SIGKILL ${point}`, survived, dataLost });
        if (watcher) watcher.close();
        worker.stop();
        await t.cleanup();
      }
    });
  }
});
