/**
 * End to end on real parts: a real Redis, BullMQ flows, a spawned Python worker, gRPC over a socket, PyTorch
 * training. The sweep is submitted through the CLI's own `sweep submit --wait` against a running local stack.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeProgram } from '../../control-plane/src/cli/program.js';
import { isControlPlaneError } from '../../control-plane/src/errors.js';
import { startLocalStack, type LocalStack } from '../../control-plane/src/local-stack.js';
import { captureIo } from '../helpers/capture-io.js';
import { isAlive } from '../helpers/sweep-helpers.js';
import { countKeysWithPrefix, deleteKeysWithPrefix, TEST_REDIS_URL, uniquePrefix } from '../helpers/redis.js';
import { itemCorrectnessOf } from '../../control-plane/src/store/item-correctness.js';
import { unpackItemBits } from '../../control-plane/src/stats/item-bits.js';

const QUICKSTART = fileURLToPath(new URL('../../jobs/quickstart.yaml', import.meta.url));

describe('quick-start sweep end to end', () => {
  const prefix = uniquePrefix('e2e');
  const home = mkdtempSync(join(tmpdir(), 'bslora-e2e-'));
  let stack: LocalStack;
  let workerPids: number[] = [];

  const cli = () => {
    const cap = captureIo();
    const program = makeProgram(
      { homeDir: home, redisUrl: TEST_REDIS_URL, prefix, apiUrl: stack.apiUrl!, host: '127.0.0.1', port: 0 },
      cap.io,
    );
    program.exitOverride();
    return { program, cap };
  };

  // The quick-start run, by whichever test needs it first, so each test also runs on its own.
  let firstRun: Promise<string> | undefined;
  const quickstartRun = () =>
    (firstRun ??= (async () => {
      const { program, cap } = cli();
      await program.parseAsync(['sweep', 'submit', QUICKSTART, '--wait'], { from: 'user' });
      return cap.stdout();
    })());

  beforeAll(async () => {
    stack = await startLocalStack({ homeDir: home, redisUrl: TEST_REDIS_URL, prefix, port: 0 });
    workerPids = stack.agent.workers.map((w) => w.pid!).filter(Boolean);
  }, 120_000);

  afterAll(async () => {
    await stack?.stop();
    await deleteKeysWithPrefix(prefix);
    rmSync(home, { recursive: true, force: true });
  });

  it('trains a LoRA and a BSLoRA trial and records both results', async () => {
    const stdout = await quickstartRun();

    const sweeps = stack.controlPlane.store.listSweeps();
    expect(sweeps).toHaveLength(1);
    expect(sweeps[0].status).toBe('completed');
    const trials = stack.controlPlane.store.trialsOfSweep(sweeps[0].id);
    const lora = trials.find((t) => t.method === 'lora')!;
    const bs = trials.find((t) => t.method === 'bslora')!;
    for (const t of [lora, bs]) {
      expect(t.status).toBe('completed');
      expect(t.result!.counts.total).toBeGreaterThan(0);
      expect(Number.isFinite(t.result!.initialLoss)).toBe(true);
      expect(Number.isFinite(t.result!.finalLoss)).toBe(true);
      expect(t.result!.finalLoss!).toBeLessThan(t.result!.initialLoss!);
      expect(t.result!.adapterSha256).toMatch(/^[0-9a-f]{64}$/);
      expect(t.result!.metrics!['builtin:arith'].n).toBeGreaterThan(0);
      // The worker's per-item bits travel through gRPC and BullMQ into the store, one bit per scored item.
      const m = t.result!.metrics!['builtin:arith'];
      const items = itemCorrectnessOf(stack.controlPlane.store.db, [t.trialKey])
        .get(t.trialKey)!
        .get('builtin:arith')!;
      expect(items.n).toBe(m.n);
      expect(unpackItemBits(items.bits, items.n).reduce((a, b) => a + b, 0)).toBe(Math.round(m.acc * m.n));
    }
    // At the spec's ranks (LoRA r=8 vs BSLoRA slice 2/2/4) sharing must cost fewer parameters.
    expect(bs.result!.counts.total).toBeLessThan(lora.result!.counts.total);
    expect(bs.result!.counts.intra).toBeGreaterThan(0);
    expect(bs.result!.counts.inter).toBeGreaterThan(0);
    expect(stdout).toContain('bslora-slice');
    expect(stdout).toMatch(/completed/);
  }, 240_000);

  it('reuses every finished trial when the same spec is submitted again', async () => {
    await quickstartRun();
    const { program, cap } = cli();
    await program.parseAsync(['sweep', 'submit', QUICKSTART, '--wait'], { from: 'user' });
    expect(cap.stdout()).toContain('2 trials (2 reused)');
    const latest = stack.controlPlane.store.listSweeps()[0];
    expect(latest.status).toBe('completed');
    expect(stack.controlPlane.store.trialsOfSweep(latest.id).every((t) => t.reused)).toBe(true);
  }, 300_000);

  it('refuses a bad spec before anything is queued, naming each field', async () => {
    const bad = join(home, 'bad.yaml');
    writeFileSync(
      bad,
      [
        'name: bad',
        'base_model: builtin:tiny-llama',
        'task_type: causal_lm',
        'train_data: ./missing-train.json',
        'eval_tasks: [builtin:arith]',
        'target_modules: [q_proj]',
        'training: {steps: 2, learning_rate: 0.001, batch_size: 2, seq_len: 32, seed: 0}',
        'grid:',
        '  method: [bslora, dora]',
        '  share_mode: slice',
        '  ranks: [{local: -1, intra: 2, inter: 2}]',
      ].join('\n'),
    );
    const before = stack.controlPlane.store.listSweeps().length;
    const keysBefore = await countKeysWithPrefix(prefix);
    const { program } = cli();
    const err = await program.parseAsync(['sweep', 'submit', bad], { from: 'user' }).catch((e) => e);
    expect(isControlPlaneError(err)).toBe(true);
    const paths = err.issues.map((i: { path: string }) => i.path).join(' ');
    expect(paths).toContain('grid.method');
    expect(paths).toContain('grid.ranks[0].local');
    expect(paths).toContain('train_data');
    expect(stack.controlPlane.store.listSweeps()).toHaveLength(before);
    expect(await countKeysWithPrefix(prefix)).toBe(keysBefore);
  }, 30_000);

  it('leaves no worker process behind after stop', async () => {
    expect(workerPids.length).toBe(1);
    await stack.stop();
    await new Promise((r) => setTimeout(r, 200));
    for (const pid of workerPids) expect(isAlive(pid)).toBe(false);
  }, 30_000);
});
