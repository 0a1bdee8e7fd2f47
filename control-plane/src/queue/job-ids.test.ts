import { describe, expect, it } from 'vitest';
import {
  parseTrialJobId,
  repairSweepJobId,
  rungJobId,
  rungTrainJobId,
  sweepGateJobId,
  sweepJobId,
  trialJobId,
} from './job-ids.js';
import { EVAL_QUEUE, TRAIN_QUEUE } from './queues.js';

const KEY = 'a3f9'.repeat(16);

describe('trial job ids', () => {
  it('builds <sweepId>.<kind>.<trialKey> and reads it back', () => {
    const id = trialJobId('sw-20261129-1a2b3c4d', TRAIN_QUEUE, KEY);
    expect(id).toBe(`sw-20261129-1a2b3c4d.train.${KEY}`);
    expect(parseTrialJobId(id)).toEqual({ sweepId: 'sw-20261129-1a2b3c4d', kind: 'train', trialKey: KEY, rung: null });
    expect(parseTrialJobId(trialJobId('s', EVAL_QUEUE, KEY))).toEqual({
      sweepId: 's',
      kind: 'eval',
      trialKey: KEY,
      rung: null,
    });
  });

  it('reads the id inside a failure key (<prefix>:<queue>:<id>)', () => {
    const key = `bslora-test-7:eval:${trialJobId('sw-1', EVAL_QUEUE, KEY)}`;
    expect(parseTrialJobId(key)).toEqual({ sweepId: 'sw-1', kind: 'eval', trialKey: KEY, rung: null });
  });

  it('keeps a sweep id that contains dots whole', () => {
    expect(parseTrialJobId(trialJobId('my.sweep', TRAIN_QUEUE, KEY))).toEqual({
      sweepId: 'my.sweep',
      kind: 'train',
      trialKey: KEY,
      rung: null,
    });
  });

  it("reads a search rung's train job: the sweep, the trial and the rung", () => {
    const id = rungTrainJobId('sw-20261129-1a2b3c4d', 2, KEY);
    expect(id).toBe(`sw-20261129-1a2b3c4d.rung2.train.${KEY}`);
    expect(parseTrialJobId(id)).toEqual({ sweepId: 'sw-20261129-1a2b3c4d', kind: 'train', trialKey: KEY, rung: 2 });
    expect(parseTrialJobId(`p:train:${rungTrainJobId('my.sweep', 0, KEY)}`)).toEqual({
      sweepId: 'my.sweep',
      kind: 'train',
      trialKey: KEY,
      rung: 0,
    });
    expect(parseTrialJobId(rungJobId('sw-1', 1))).toBeNull();
  });

  it('answers null for ids that are not a trial job', () => {
    for (const id of [
      sweepJobId('sw-1'),
      repairSweepJobId('sw-1', 1700000000000),
      sweepGateJobId('sw-1'),
      'sw-1.sweep.k',
      'k',
      '',
    ]) {
      expect(parseTrialJobId(id), id).toBeNull();
    }
  });
});
