/**
 * The contract of the reference-protocol settings across the process boundary: trials the planner builds, encoded as
 * the worker receives them, read by the worker's own code (worker-py/scripts/describe_trials.py builds each PEFT
 * adapter on builtin:tiny-llama and reports the scale its layers apply).
 */
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';

import { Trial } from '../gen/bslora_api/worker/v1/worker_service.js';
import { REPO_ROOT, workerPython } from '../worker-process/python-path.js';
import { expandSweep } from './expand-sweep.js';
import { parseSweepSpec } from './parse-sweep-spec.js';
import { minimalSpec, toYaml } from './test-fixtures.js';
import { trialScale } from './training-settings.js';

interface WorkerView {
  name: string;
  layer_scales: number[];
  kron_shared_dropout: boolean | null;
  lr_scheduler: string;
  micro_batch_size: number;
  train_on_inputs: boolean;
  prompt_template: string;
}

async function workerViews(trials: Trial[]): Promise<WorkerView[]> {
  const input = trials.map((t) => Buffer.from(Trial.encode(t).finish()).toString('base64')).join('\n');
  const { stdout } = await execa(workerPython(), ['worker-py/scripts/describe_trials.py'], { cwd: REPO_ROOT, input });
  return stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as WorkerView);
}

const GRID = {
  method: ['lora', 'bslora', 'vera'],
  lora_ranks: [8],
  vera_ranks: [16],
  ranks: [{ local: 2, intra: 4, inter: 16 }],
  paired: [
    { share_mode: 'slice' },
    { share_mode: 'kron', kron_share_size: 16 },
    { share_mode: 'gate', gate_share_size: 32 },
  ],
};

const DEFAULT_SPEC = minimalSpec({
  grid: GRID,
  target_modules: ['q_proj', 'k_proj', 'v_proj', 'up_proj', 'down_proj'],
});
const REFERENCE_SPEC = minimalSpec({
  grid: GRID,
  training: {
    steps: 10,
    learning_rate: 1e-4,
    batch_size: 8,
    micro_batch_size: 4,
    seq_len: 32,
    lr_scheduler: 'cosine',
    train_on_inputs: true,
    prompt_template: 'alpaca_short',
  },
  adapter: { scaling: 'alpha_over_rank', kron_shared_dropout: false },
});

describe('the worker reads the planned settings as the planner means them', () => {
  const defaults = expandSweep(parseSweepSpec(toYaml(DEFAULT_SPEC)));
  const reference = expandSweep(parseSweepSpec(toYaml(REFERENCE_SPEC)));
  let views: WorkerView[] = [];
  beforeAll(async () => {
    views = await workerViews([...defaults, ...reference]); // one worker process: importing torch dominates
  }, 120_000);

  it('under the default, LoRA r=8 and BSLoRA 2/4/16 layers all apply scale 2; other settings take their defaults', () => {
    const mine = views.slice(0, defaults.length);
    expect(mine.map((v) => v.name)).toEqual(defaults.map((t) => t.name));
    const adapters = mine.filter((v) => !v.name.startsWith('vera'));
    expect(adapters.map((v) => v.layer_scales)).toEqual(adapters.map(() => [2]));
    defaults.forEach((t, i) => {
      if (!t.name.startsWith('vera')) expect(mine[i]!.layer_scales).toEqual([trialScale(t)]);
    });
    expect(mine.find((v) => v.name.startsWith('bslora-kron'))!.kron_shared_dropout).toBe(true);
    for (const v of mine)
      expect(v).toMatchObject({
        lr_scheduler: 'linear',
        micro_batch_size: 0,
        train_on_inputs: false,
        prompt_template: 'alpaca',
      });
  });

  it('carries the reference settings and the alpha modes through', () => {
    const mine = views.slice(defaults.length);
    expect(mine.map((v) => v.name)).toEqual(reference.map((t) => t.name));
    reference.forEach((t, i) => {
      const expected = trialScale(t);
      if (expected === null) expect(mine[i]!.layer_scales).toEqual([]);
      else {
        expect(mine[i]!.layer_scales).toHaveLength(1);
        expect(mine[i]!.layer_scales[0]).toBeCloseTo(expected, 12);
      }
    });
    expect(trialScale(reference.find((t) => t.name.startsWith('bslora'))!)).toBeCloseTo(16 / 22, 12);
    expect(mine.find((v) => v.name.startsWith('bslora-kron'))!.kron_shared_dropout).toBe(false);
    for (const v of mine)
      expect(v).toMatchObject({
        lr_scheduler: 'cosine',
        micro_batch_size: 4,
        train_on_inputs: true,
        prompt_template: 'alpaca_short',
      });
  });
});
