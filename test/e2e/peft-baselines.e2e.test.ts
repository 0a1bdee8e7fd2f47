/**
 * Any PEFT method as a baseline, end to end on real parts: a spawned Python worker validates `grid.peft` entries
 * with its installed PEFT at submit (gRPC CountParameters), then LoKr, FourierFT and VB-LoRA train and evaluate on
 * the tiny model through Redis and BullMQ like any other trial. A bad entry is refused with PEFT's message at its
 * path before anything is queued.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeProgram } from '../../control-plane/src/cli/program.js';
import { isControlPlaneError } from '../../control-plane/src/errors.js';
import { startLocalStack, type LocalStack } from '../../control-plane/src/local-stack.js';
import { ControlPlane } from '../../control-plane/src/control-plane.js';
import { loadSweepSpecFile } from '../../control-plane/src/sweep-specs/index.js';
import { captureIo } from '../helpers/capture-io.js';
import { countKeysWithPrefix, deleteKeysWithPrefix, TEST_REDIS_URL, uniquePrefix } from '../helpers/redis.js';

function writeSpec(dir: string, name: string, entries: string[], extra: string[] = []): string {
  const path = join(dir, `${name}.yaml`);
  writeFileSync(
    path,
    [
      `name: ${name}`,
      'base_model: builtin:tiny-llama',
      'train_data: builtin:arith',
      'eval_tasks: [builtin:arith]',
      'target_modules: [q_proj, v_proj]',
      'training: {steps: 4, learning_rate: 0.01, batch_size: 4, seq_len: 64, seed: 0, eval_limit: 10}',
      'grid:',
      '  method: [lora, peft]',
      '  lora_ranks: [4]',
      '  peft:',
      ...entries.map((e) => `    - ${e}`),
      ...extra,
    ].join('\n'),
  );
  return path;
}

const ENTRIES = [
  '{name: lokr-r8, peft: {peft_type: LOKR, r: 8, alpha: 16}}',
  '{name: fourierft, peft: {peft_type: FOURIERFT, n_frequency: 64, scaling: 100}}',
  '{name: vblora, peft: {peft_type: VBLORA, r: 4, num_vectors: 16, vector_length: 8}}',
];

describe('PEFT baselines end to end', () => {
  const prefix = uniquePrefix('e2e-peft');
  const home = mkdtempSync(join(tmpdir(), 'bslora-e2e-peft-'));
  let stack: LocalStack;

  const cli = () => {
    const cap = captureIo();
    const program = makeProgram(
      { homeDir: home, redisUrl: TEST_REDIS_URL, prefix, apiUrl: stack.apiUrl!, host: '127.0.0.1', port: 0 },
      cap.io,
    );
    program.exitOverride();
    return { program, cap };
  };

  beforeAll(async () => {
    stack = await startLocalStack({ homeDir: home, redisUrl: TEST_REDIS_URL, prefix, port: 0 });
  }, 120_000);

  afterAll(async () => {
    await stack?.stop();
    await deleteKeysWithPrefix(prefix);
    rmSync(home, { recursive: true, force: true });
  });

  it('trains and evaluates LoKr, FourierFT and VB-LoRA, keyed by the canonical config and PEFT version', async () => {
    const spec = writeSpec(home, 'peft-ok', ENTRIES, ['expect:', '  - {best: "peft:lokr-r8", at_least: 0}']);
    const { program, cap } = cli();
    await program.parseAsync(['sweep', 'submit', spec, '--wait'], { from: 'user' });

    const [sweep] = stack.controlPlane.store.listSweeps();
    expect(sweep!.status).toBe('completed');
    const trials = stack.controlPlane.store.trialsOfSweep(sweep!.id);
    expect(trials.map((t) => t.name).sort()).toEqual([
      'lora-r4-s0',
      'peft-fourierft-s0',
      'peft-lokr-r8-s0',
      'peft-vblora-s0',
    ]);
    const versions = new Set<string>();
    for (const t of trials.filter((x) => x.method === 'peft')) {
      expect(t.status).toBe('completed');
      const settings = t.plan.method!.$case === 'peft' ? t.plan.method!.value : null;
      const config = JSON.parse(settings!.configJson) as Record<string, unknown>;
      // The canonical config: PEFT's defaults filled in, the spec's target modules applied.
      expect(config.target_modules).toEqual(['q_proj', 'v_proj']);
      expect(config.task_type).toBe('CAUSAL_LM');
      expect(Object.keys(config).length).toBeGreaterThan(8);
      versions.add(settings!.peftVersion);
      expect(t.result!.counts.total).toBeGreaterThan(0);
      expect(Number.isFinite(t.result!.finalLoss)).toBe(true);
      expect(t.result!.adapterSha256).toMatch(/^[0-9a-f]{64}$/);
      expect(t.result!.metrics!['builtin:arith'].n).toBe(10);
    }
    expect([...versions]).toEqual(['0.21.2']); // worker-py/pyproject.toml pins it
    const lokr = trials.find((t) => t.name === 'peft-lokr-r8-s0')!;
    expect(JSON.parse((lokr.plan.method as { value: { configJson: string } }).value.configJson)).toMatchObject({
      r: 8,
      alpha: 16,
      peft_type: 'LOKR',
    });
    // The result table names each entry as its selector does.
    expect(cap.stdout()).toMatch(/peft-vblora-s0\s+peft:vblora\s+completed/);
    expect(cap.stdout()).toMatch(/peft:lokr-r8/);
  }, 300_000);

  it('reuses every peft trial when the spec is submitted again with a default written out and an entry renamed', async () => {
    // Writing a default out (rank_dropout: 0.0) or renaming the entry leaves the canonical config and the key.
    const entries = [
      '{name: lokr-8, peft: {peft_type: LOKR, r: 8, alpha: 16, rank_dropout: 0.0}}',
      ENTRIES[1]!,
      ENTRIES[2]!,
    ];
    const spec = writeSpec(home, 'peft-again', entries);
    const { program, cap } = cli();
    await program.parseAsync(['sweep', 'submit', spec, '--wait'], { from: 'user' });
    expect(cap.stdout()).toContain('4 trials (4 reused)');
  }, 60_000);

  it("refuses an invalid entry at submit with PEFT's message and the entry's path, queueing nothing", async () => {
    const spec = writeSpec(home, 'peft-bad', [
      ENTRIES[0]!,
      '{name: lokr-bad, peft: {peft_type: LOKR, r: -1}}',
      '{name: nope, peft: {peft_type: NOPE}}',
    ]);
    const before = stack.controlPlane.store.listSweeps().length;
    const keysBefore = await countKeysWithPrefix(prefix);
    const { program } = cli();
    const err = await program.parseAsync(['sweep', 'submit', spec], { from: 'user' }).catch((e) => e);
    expect(isControlPlaneError(err)).toBe(true);
    expect(err.code).toBe('CP_ERR_SPEC_INVALID');
    expect(err.issues).toEqual([
      {
        path: 'grid.peft[1].peft',
        message: expect.stringContaining('`r` should be a positive integer value but the value passed is -1'),
      },
      {
        path: 'grid.peft[2].peft',
        message: expect.stringMatching(/'NOPE' is not a method of PEFT 0\.21\.2: use one of .*LOKR/),
      },
    ]);
    expect(stack.controlPlane.store.listSweeps()).toHaveLength(before);
    expect(await countKeysWithPrefix(prefix)).toBe(keysBefore);
  }, 60_000);
});

describe('PEFT baselines without a worker', () => {
  it('refuses the spec, saying an agent must run, and stores nothing', async () => {
    const prefix = uniquePrefix('e2e-peft-none');
    const home = mkdtempSync(join(tmpdir(), 'bslora-e2e-peft-none-'));
    const cp = await ControlPlane.start({ redisUrl: TEST_REDIS_URL, prefix, homeDir: home });
    try {
      const spec = await loadSweepSpecFile(writeSpec(home, 'peft-none', [ENTRIES[0]!]));
      const err = await cp.submit(spec).catch((e) => e);
      expect(isControlPlaneError(err)).toBe(true);
      expect(err.code).toBe('CP_ERR_NO_VALIDATING_WORKER');
      expect(err.message).toMatch(/no worker is serving: start an agent/);
      expect(cp.store.listSweeps()).toHaveLength(0);
    } finally {
      await cp.close();
      await deleteKeysWithPrefix(prefix);
      rmSync(home, { recursive: true, force: true });
    }
  }, 30_000);
});
