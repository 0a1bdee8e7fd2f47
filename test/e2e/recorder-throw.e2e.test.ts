/**
 * A recording that throws must not stop the recording of the trials after it. QueueEvents calls the recorder's
 * listener from its own reading loop, and a throw there once went unreported while later trials stayed `running`.
 * A real ControlPlane and a dry-run Agent (real Redis, BullMQ, a Python worker over gRPC) run a six-trial sweep
 * whose store refuses the first recording once.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent } from '../../control-plane/src/agent/agent.js';
import { ControlPlane } from '../../control-plane/src/control-plane.js';
import { parseSweepSpec } from '../../control-plane/src/sweep-specs/index.js';
import { DRY_RUN_RANKS, dryRunSpecJson } from '../helpers/tiny-spec.js';
import { deleteKeysWithPrefix, TEST_REDIS_URL, uniquePrefix } from '../helpers/redis.js';
import { waitForSweepEnd } from '../helpers/sweep-helpers.js';

const SPEC = dryRunSpecJson('recorder-throw', DRY_RUN_RANKS.slice(0, 2), [0, 1, 2]);

describe('a recording that throws', () => {
  const prefix = uniquePrefix('recorder-throw');
  const home = mkdtempSync(join(tmpdir(), 'bslora-recorder-throw-'));
  let cp: ControlPlane;
  let agent: Agent;

  beforeAll(async () => {
    cp = await ControlPlane.start({ redisUrl: TEST_REDIS_URL, prefix, homeDir: home });
    agent = await Agent.start({ ctx: cp.ctx, homeDir: home, devices: ['cpu'], dryRun: true });
  }, 120_000);

  afterAll(async () => {
    await agent?.close();
    await cp?.close();
    await deleteKeysWithPrefix(prefix);
    rmSync(home, { recursive: true, force: true });
  });

  it('is logged as a sweep event, and every trial is still recorded exactly once', async () => {
    const store = cp.store;
    const record = store.recordResult.bind(store);
    let refused = 0;
    store.recordResult = (trialKey, result) => {
      if (refused++ === 0) throw new Error('disk full (refused once by the test)');
      return record(trialKey, result);
    };
    const { sweepId, trials } = await cp.submit(parseSweepSpec(SPEC, { format: 'json' }));
    const sweep = await waitForSweepEnd(store, sweepId, 90_000);
    expect(sweep.status).toBe('completed');

    const events = store.db
      .prepare('SELECT kind, trial_key, payload_json FROM events WHERE sweep_id = ? ORDER BY id')
      .all(sweepId) as { kind: string; trial_key: string; payload_json: string }[];
    const failed = events.filter((e) => e.kind === 'record-failed');
    expect(failed).toHaveLength(1);
    expect(JSON.parse(failed[0]!.payload_json).message).toBe('disk full (refused once by the test)');
    const inserted = events
      .filter((e) => e.kind === 'result-recorded' && JSON.parse(e.payload_json).inserted)
      .map((e) => e.trial_key)
      .sort();
    expect(inserted).toEqual(trials.map((t) => t.trialKey).sort());
    expect(store.trialsOfSweep(sweepId).map((t) => t.status)).toEqual(trials.map(() => 'completed'));
  }, 120_000);
});
