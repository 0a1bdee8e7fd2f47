/**
 * The trials the queue benchmarks run: n BSLoRA trials on the tiny model (four rank triples × as many seeds as
 * needed), expanded by the real spec parser and planner so that keys, names and plans are what a submit produces.
 */
import { expandSweep, parseSweepSpec, type Trial } from '../../control-plane/src/sweep-specs/index.js';

const RANKS = [
  { local: 2, intra: 2, inter: 4 },
  { local: 4, intra: 2, inter: 2 },
  { local: 2, intra: 4, inter: 2 },
  { local: 1, intra: 1, inter: 6 },
];

/** @param name - the sweep's name. */
export function benchPlans(n: number, name: string): Trial[] {
  const seeds = Math.ceil(n / RANKS.length);
  const spec = parseSweepSpec(
    JSON.stringify({
      name,
      base_model: 'builtin:tiny-llama',
      train_data: 'builtin:arith',
      eval_tasks: ['builtin:arith'],
      target_modules: ['q_proj', 'v_proj'],
      training: { steps: 1, learning_rate: 0.001, batch_size: 2, seq_len: 32 },
      grid: { method: ['bslora'], ranks: RANKS, seeds: Array.from({ length: seeds }, (_, i) => i) },
      budget: { max_trials: seeds * RANKS.length },
    }),
    { format: 'json' },
  );
  return expandSweep(spec).slice(0, n);
}
