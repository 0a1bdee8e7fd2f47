/**
 * A spec that names its data (`llm-adapters:<Set>`) runs on a machine without internet given a data mirror: the
 * mirror set by `--data-mirror` reaches the spawned worker, a set it holds is read from it, and a set it lacks fails
 * the trial before training with the data set and the path looked for. Real Redis, BullMQ, worker, gRPC, PyTorch.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { applyDataMirror, DATA_MIRROR_ENV } from '../../control-plane/src/cli/data-mirror-option.js';
import { type LocalStack, startLocalStack } from '../../control-plane/src/local-stack.js';
import { parseSweepSpec } from '../../control-plane/src/sweep-specs/index.js';
import { deleteKeysWithPrefix, TEST_REDIS_URL, uniquePrefix } from '../helpers/redis.js';
import { waitForSweepEnd } from '../helpers/sweep-helpers.js';

/** Three BoolQ-style records in the LLM-Adapters format (made up here; no third-party data). */
const BOOLQ = [
  ['is the sky blue on a clear day', 'true'],
  ['can a fish climb a tree', 'false'],
  ['is water wet', 'true'],
].map(([q, a]) => ({
  instruction: `Please answer the following question with true or false, question: ${q}?\n\nAnswer format: true/false`,
  input: '',
  output: `the correct answer is ${a}`,
  answer: a,
}));

function spec(name: string, evalTasks: string[]) {
  return parseSweepSpec(
    [
      `name: ${name}`,
      'base_model: builtin:tiny-llama',
      'train_data: builtin:arith',
      `eval_tasks: [${evalTasks.join(', ')}]`,
      'target_modules: [q_proj, v_proj]',
      'training: {steps: 2, learning_rate: 0.003, batch_size: 2, seq_len: 64, seed: 0}',
      'grid: {method: [lora], lora_ranks: [4]}',
    ].join('\n'),
  );
}

describe('named data from a data mirror, end to end', () => {
  const prefix = uniquePrefix('mirror');
  const home = mkdtempSync(join(tmpdir(), 'bslora-mirror-'));
  const mirror = join(home, 'mirror');
  const previous = process.env[DATA_MIRROR_ENV];
  let stack: LocalStack;

  beforeAll(async () => {
    mkdirSync(join(mirror, 'commonsense', 'boolq'), { recursive: true });
    writeFileSync(join(mirror, 'commonsense', 'boolq', 'test.json'), JSON.stringify(BOOLQ));
    applyDataMirror(mirror); // what `bslora up --data-mirror <dir>` does before it starts the workers
    stack = await startLocalStack({ homeDir: home, redisUrl: TEST_REDIS_URL, prefix, port: 0 });
  }, 120_000);

  afterAll(async () => {
    await stack?.stop();
    await deleteKeysWithPrefix(prefix);
    if (previous === undefined) delete process.env[DATA_MIRROR_ENV];
    else process.env[DATA_MIRROR_ENV] = previous;
    rmSync(home, { recursive: true, force: true });
  });

  it('evaluates on a set the mirror holds', async () => {
    const { sweepId } = await stack.controlPlane.submit(spec('mirror-ok', ['llm-adapters:boolq']));
    const sweep = await waitForSweepEnd(stack.controlPlane.store, sweepId, 180_000);
    const [trial] = stack.controlPlane.store.trialsOfSweep(sweepId);
    expect(sweep.status, trial!.lastError ?? '').toBe('completed');
    expect(trial!.result!.metrics!['llm-adapters:boolq']!.n).toBe(3);
  }, 200_000);

  it('fails a trial whose set the mirror lacks before training, naming the set and the path', async () => {
    const { sweepId } = await stack.controlPlane.submit(
      spec('mirror-missing', ['llm-adapters:boolq', 'llm-adapters:piqa']),
    );
    await waitForSweepEnd(stack.controlPlane.store, sweepId, 180_000);
    const [trial] = stack.controlPlane.store.trialsOfSweep(sweepId);
    expect(trial!.status).toBe('failed');
    expect(trial!.result).toBeNull();
    expect(trial!.lastError).toContain("'llm-adapters:piqa'");
    expect(trial!.lastError).toContain(join(mirror, 'commonsense', 'piqa', 'test.json'));
  }, 200_000);
});
