import { describe, expect, it } from 'vitest';

import { Trial, expandSweep, loadSweepSpecFile, trialCoordinates } from '../sweep-specs/index.js';
import { Store } from './store.js';
import { trialFromJson, trialToJson } from './trial-json.js';

// What the control plane at key format 2 stored for jobs/quickstart.yaml (plan_json of its two trials, keys included).
const FORMAT_2_ROWS = [
  '{"trialKey":"071a1364dc86361d667876d86fa57e8dce27df821200069d8c32bf426b9dc97c","name":"lora-r8-s0","method":"lora","ranks":null,"rank":8,"shareMode":null,"kronShareSize":null,"gateShareSize":null,"loraAlpha":null,"loraDropout":0.05,"baseModel":"builtin:tiny-llama","taskType":"causal_lm","trainData":"builtin:arith","evalTasks":["builtin:arith"],"targetModules":["q_proj","k_proj","v_proj","up_proj","down_proj"],"training":{"steps":30,"epochs":null,"learningRate":0.003,"batchSize":8,"seqLen":64,"warmupSteps":0,"evalLimit":200,"checkpointEvery":null},"seed":0,"methodVersion":"peft-lora/1"}',
  '{"trialKey":"de2a6d2241037af051d7d3cd3ec990faab93b2a0a4050ab56a759c345dbccb21","name":"bslora-slice-2/2/4-s0","method":"bslora","ranks":{"local":2,"intra":2,"inter":4},"rank":null,"shareMode":"slice","kronShareSize":null,"gateShareSize":null,"loraAlpha":null,"loraDropout":0.05,"baseModel":"builtin:tiny-llama","taskType":"causal_lm","trainData":"builtin:arith","evalTasks":["builtin:arith"],"targetModules":["q_proj","k_proj","v_proj","up_proj","down_proj"],"training":{"steps":30,"epochs":null,"learningRate":0.003,"batchSize":8,"seqLen":64,"warmupSteps":0,"evalLimit":200,"checkpointEvery":null},"seed":0,"methodVersion":"bslora-method/1"}',
];

describe('stored trials', () => {
  it('round-trip through their proto JSON', async () => {
    for (const trial of expandSweep(await loadSweepSpecFile('jobs/quickstart.yaml'))) {
      expect(trialFromJson(trialToJson(trial))).toEqual(trial);
      expect(JSON.parse(trialToJson(trial))).toEqual(Trial.toJSON(trial));
    }
  });

  it('written before the proto contract (key format 2) still read, with their coordinates and settings', () => {
    const [lora, bslora] = FORMAT_2_ROWS.map(trialFromJson);
    expect(trialCoordinates(lora!)).toEqual({
      method: 'lora',
      rank: 8,
      ranks: null,
      shareMode: null,
      shareSize: null,
      peftName: null,
      seed: 0,
    });
    expect(lora!.method).toEqual({ $case: 'lora', value: { rank: 8, loraDropout: 0.05 } });
    expect(lora!.training).toMatchObject({
      length: { $case: 'steps', value: 30 },
      learningRate: 0.003,
      warmupSteps: 0,
      evalLimit: 200,
    });
    expect(trialCoordinates(bslora!)).toMatchObject({
      method: 'bslora',
      ranks: { local: 2, intra: 2, inter: 4 },
      shareMode: 'slice',
    });
    expect(bslora!.methodVersion).toBe('bslora-method/1');
  });

  it('finished under key format 2 are not reused by the same spec planned now', async () => {
    const store = new Store(':memory:');
    const old = FORMAT_2_ROWS.map(trialFromJson);
    store.createSweep({ id: 'sw-old', name: 'quickstart', spec: {} }, old, new Set());
    for (const t of old) {
      store.recordResult(t.trialKey, {
        counts: { total: 1 },
        initialLoss: 2,
        finalLoss: 1,
        train: {},
        metrics: null,
        adapterSha256: null,
      });
    }
    expect(store.finishedTrialKeys(old.map((t) => t.trialKey)).size).toBe(2);
    const now = expandSweep(await loadSweepSpecFile('jobs/quickstart.yaml'));
    expect(now.map((t) => t.name)).toEqual(old.map((t) => t.name));
    expect(store.finishedTrialKeys(now.map((t) => t.trialKey)).size).toBe(0);
  });
});
