/** Helpers shared by the sweep-spec tests. */
import { stringify } from 'yaml';

import { ControlPlaneError, type SpecIssue } from '../errors.js';
import { Trial } from '../gen/bslora_api/worker/v1/worker_service.js';
import { METHOD_VERSIONS } from './trial-defaults.js';
import type { MethodName, ShareModeName } from './trial-enums.js';

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

/** A trial with the given coordinates and small fixed settings (tests of readers of stored trials). */
export function trialFixture(c: {
  key?: string;
  name?: string;
  method: MethodName;
  rank?: number;
  ranks?: { local: number; intra: number; inter: number };
  shareMode?: ShareModeName;
  shareSize?: number;
  seed?: number;
}): Trial {
  const mode = c.shareMode ?? 'slice';
  const settings =
    c.method === 'bslora'
      ? {
          bslora: {
            ranks: c.ranks ?? { local: 2, intra: 2, inter: 4 },
            [mode]: mode === 'slice' ? {} : { shareSize: c.shareSize ?? 16 },
          },
        }
      : c.method === 'base'
        ? { base: {} }
        : { [c.method]: { rank: c.rank ?? 8 } };
  return Trial.fromJSON({
    trialKey: c.key ?? c.name ?? 'k',
    name: c.name ?? `t-${c.key ?? 'k'}`,
    ...settings,
    methodVersion: METHOD_VERSIONS[c.method],
    baseModel: 'builtin:tiny-llama',
    taskType: 'TASK_TYPE_CAUSAL_LM',
    trainData: 'builtin:arith',
    evalTasks: ['builtin:arith'],
    targetModules: c.method === 'base' ? [] : ['q_proj'],
    training: { steps: 1, learningRate: 0.001, batchSize: 1, seqLen: 8 },
    seed: c.seed ?? 0,
  });
}
