/** Helpers shared by the sweep-spec tests. */
import { stringify } from 'yaml';

import { ControlPlaneError, type SpecIssue } from '../errors.js';

/** A small valid spec (as written), to be varied by tests. */
export function minimalSpec(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'unit',
    base_model: 'builtin:tiny-llama',
    train_data: 'builtin:arith',
    eval_tasks: ['builtin:arith'],
    target_modules: ['q_proj', 'v_proj'],
    training: { steps: 10, learning_rate: 0.001, batch_size: 4, seq_len: 32 },
    grid: { method: ['bslora', 'lora'], lora_ranks: [8], ranks: [{ local: 2, intra: 2, inter: 4 }] },
    ...overrides,
  };
}

/** The spec as YAML text. */
export function toYaml(spec: Record<string, unknown>): string {
  return stringify(spec);
}

/** Runs `fn`, expects a ControlPlaneError, returns its issues. */
export function issuesOf(fn: () => unknown): SpecIssue[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ControlPlaneError) return err.issues;
    throw err;
  }
  throw new Error('expected a ControlPlaneError, but nothing was thrown');
}
