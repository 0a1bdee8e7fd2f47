/**
 * `bslora params` against real workers (builtin:tiny-llama, counting only): once through a worker it spawns
 * itself, and through a running worker named with `--worker`.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeProgram } from '../../control-plane/src/cli/program.js';
import type { ParamsReport } from '../../control-plane/src/cli/params-command.js';
import { isControlPlaneError } from '../../control-plane/src/errors.js';
import { spawnWorker, type WorkerProcess } from '../../control-plane/src/worker-process/spawn-worker.js';
import { captureIo } from '../helpers/capture-io.js';

const SPEC = `
name: params-e2e
base_model: builtin:tiny-llama
train_data: builtin:arith
eval_tasks: [builtin:arith]
target_modules: [q_proj, k_proj, v_proj, up_proj, down_proj]
training: {steps: 3, learning_rate: 0.003, batch_size: 4, seq_len: 64, seeds: [0, 1]}
grid:
  method: [lora, bslora]
  lora_ranks: [4, 8]
  share_mode: [slice, kron]
  kron_share_size: [KRON]
  ranks: [{local: 2, intra: 2, inter: 4}]
`;

describe('bslora params', () => {
  const home = mkdtempSync(join(tmpdir(), 'bslora-params-'));
  let worker: WorkerProcess;

  const cli = () => {
    const cap = captureIo();
    const program = makeProgram(
      {
        homeDir: home,
        redisUrl: 'redis://127.0.0.1:1',
        prefix: 'x',
        apiUrl: 'http://127.0.0.1:1',
        host: '127.0.0.1',
        port: 0,
      },
      cap.io,
    );
    return { run: (args: string[]) => program.parseAsync(args, { from: 'user' }), cap };
  };
  const specWith = (kron: number) => {
    const path = join(home, `params-kron${kron}.yaml`);
    writeFileSync(path, SPEC.replace('KRON', String(kron)));
    return path;
  };

  beforeAll(async () => {
    worker = await spawnWorker({ runDir: join(home, 'worker') });
  }, 120_000);

  afterAll(async () => {
    await worker?.stop();
    rmSync(home, { recursive: true, force: true });
  });

  it('prints every trial with a breakdown that sums, BSLoRA under LoRA, shares against the largest LoRA', async () => {
    const { run, cap } = cli();
    await run(['params', specWith(4), '--worker', worker.address, '--json']);
    const report = JSON.parse(cap.stdout()) as ParamsReport;
    expect(report.trials.map((t) => t.name)).toEqual([
      'lora-r4-s0',
      'lora-r8-s0',
      'bslora-slice-2/2/4-s0',
      'bslora-kron4-2/2/4-s0',
      'lora-r4-s1',
      'lora-r8-s1',
      'bslora-slice-2/2/4-s1',
      'bslora-kron4-2/2/4-s1',
    ]);
    expect(report.loraBaseline).toBe('lora-r8-s0');
    expect(report.baseTotal).toBeGreaterThan(0);
    for (const t of report.trials) {
      const c = t.counts!;
      expect(c.local + c.intra + c.inter + c.transform + c.head, t.name).toBe(c.total);
      expect(c.head).toBe(0); // causal LM: no classification head
      expect(t.error).toBeNull();
    }
    const byName = Object.fromEntries(report.trials.map((t) => [t.name, t]));
    const lora8 = byName['lora-r8-s0'].counts!;
    const slice = byName['bslora-slice-2/2/4-s0'];
    expect(lora8.intra + lora8.inter + lora8.transform).toBe(0);
    expect(slice.counts!.total).toBeLessThan(lora8.total);
    expect(slice.counts!.intra).toBeGreaterThan(0);
    expect(slice.counts!.inter).toBeGreaterThan(0);
    expect(byName['lora-r8-s0'].loraShare).toBe(1);
    expect(slice.loraShare).toBeCloseTo(slice.counts!.total / lora8.total);
    expect(byName['lora-r4-s0'].counts!.total * 2).toBe(lora8.total);
    // Seeds do not change shapes.
    expect(byName['bslora-kron4-2/2/4-s1'].counts).toEqual(byName['bslora-kron4-2/2/4-s0'].counts);
    // The serving footprint, from shapes: resident bytes = parameters × dtype size; LoRA merged = factored;
    // BSLoRA expanded to per-module LoRA (rank 2+2+4 here) holds more than factored.
    for (const t of report.trials) {
      const f = t.footprint!;
      expect(f.residentBytesBf16, t.name).toBe(2 * t.counts!.total);
      expect(f.residentBytesFp32, t.name).toBe(4 * t.counts!.total);
      expect(f.adapterFileBytes, t.name).toBeGreaterThan(f.residentBytesFp32);
      expect(f.adaptersPerGib, t.name).toBeCloseTo(2 ** 30 / f.residentBytesBf16);
    }
    expect(byName['lora-r8-s0'].footprint!.mergedResidentBytesBf16).toBe(
      byName['lora-r8-s0'].footprint!.residentBytesBf16,
    );
    expect(slice.footprint!.mergedResidentBytesBf16).toBe(byName['lora-r8-s0'].footprint!.residentBytesBf16);
    expect(slice.footprint!.residentBytesBf16).toBeLessThan(slice.footprint!.mergedResidentBytesBf16);
  });

  it('lists trials the worker refuses with the reason, and exits 2', async () => {
    const { run, cap } = cli();
    const err = await run(['params', specWith(7), '--worker', worker.address]).catch((e) => e);
    expect(isControlPlaneError(err) && err.exitCode).toBe(2);
    expect(err.issues.map((i: { path: string }) => i.path)).toEqual([
      'trial bslora-kron7-2/2/4-s0',
      'trial bslora-kron7-2/2/4-s1',
    ]);
    expect(err.issues[0].message).toContain('kron_share_size=7');
    expect(cap.stdout()).toMatch(/bslora-slice-2\/2\/4-s0\s+bslora\s+[\d,]+/);
  });

  it('starts and stops a worker of its own with --spawn-worker', async () => {
    const { run, cap } = cli();
    await run(['params', specWith(4), '--spawn-worker']);
    const out = cap.stdout();
    expect(out).toMatch(/^params-e2e: 8 trials on builtin:tiny-llama \([\d,]+ base parameters\)/);
    expect(out).toMatch(/trial\s+method\s+local\s+intra\s+inter\s+transform\s+total\s+of LoRA/);
    expect(out).toMatch(
      /lora-r8-s0\s+lora\s+[\d,]+\s+0\s+0\s+0\s+[\d,]+\s+100\.0%\s+[\d,]+\s+[\d,]+\s+[\d,]+\s+[\d.,]+/,
    );
    expect(out).toMatch(/of LoRA\s+file bytes\s+bf16 bytes\s+merged bf16\s+per GiB/);
  }, 120_000);

  it('counts known Llama shapes without a worker, exactly as the worker counts them (every method, share mode, GQA, refusals)', async () => {
    const wide = (base: string, kron: number) => {
      const path = join(home, `wide-${base.replace(/\W/g, '_')}-${kron}.yaml`);
      writeFileSync(
        path,
        [
          'name: params-wide',
          `base_model: ${base}`,
          'train_data: builtin:arith',
          'eval_tasks: [builtin:arith]',
          'target_modules: [down_proj, q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj]',
          'training: {steps: 3, learning_rate: 0.003, batch_size: 4, seq_len: 64}',
          'grid:',
          '  method: [base, lora, vera, bslora]',
          '  lora_ranks: [4, 16]',
          '  vera_ranks: [32]',
          `  paired: [{share_mode: slice, ranks: [{local: 2, intra: 2, inter: 4}, {local: 4, intra: 0, inter: 0}]}, {share_mode: gate, gate_share_size: 48, ranks: [{local: 1, intra: 2, inter: 0}]}, {share_mode: kron, kron_share_size: ${kron}, ranks: [{local: 2, intra: 4, inter: 8}]}]`,
        ].join('\n'),
      );
      return path;
    };
    const specs = [
      specWith(4),
      specWith(7),
      wide('builtin:tiny-llama', 16),
      wide('builtin:tiny-llama', 3),
      wide('meta-llama/Meta-Llama-3-8B', 256),
      wide('meta-llama/Llama-2-7b-hf', 64),
      fileURLToPath(new URL('../../jobs/quickstart.yaml', import.meta.url)),
      fileURLToPath(new URL('../../jobs/smollm2-arith.yaml', import.meta.url)),
      fileURLToPath(new URL('../../jobs/paper/llama2-7b-commonsense.yaml', import.meta.url)),
    ];
    for (const spec of specs) {
      const viaWorker = cli();
      const e1 = await viaWorker.run(['params', spec, '--worker', worker.address, '--json']).catch((e) => e);
      const local = cli();
      const started = Date.now();
      const e2 = await local.run(['params', spec, '--json']).catch((e) => e);
      expect(Date.now() - started, spec).toBeLessThan(2_000);
      // The serving footprint is computed by a worker only (docs/reference/cli.md): counted from shapes it is null,
      // and every other field equals the worker's.
      const fromShapes = JSON.parse(local.cap.stdout()) as { trials: { footprint: unknown }[] };
      const fromWorker = JSON.parse(viaWorker.cap.stdout()) as { trials: { footprint: unknown }[] };
      for (const t of fromShapes.trials) expect(t.footprint, spec).toBeNull();
      const withoutFootprint = (r: { trials: { footprint: unknown }[] }) => ({
        ...r,
        trials: r.trials.map(({ footprint: _f, ...t }) => t),
      });
      expect(withoutFootprint(fromShapes), spec).toEqual(withoutFootprint(fromWorker));
      expect(e2?.issues ?? null, spec).toEqual(e1?.issues ?? null);
    }
  }, 240_000);
});
