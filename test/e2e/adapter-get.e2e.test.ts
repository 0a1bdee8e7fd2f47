/**
 * Taking a trained adapter away, end to end on real parts: a tiny sweep trained by a spawned PyTorch worker over
 * gRPC, its adapters served by `GET /api/v1/sweeps/{id}/trials/{key}/adapter` and written by `bslora adapter get`
 * (by name, by key, and `--best`), then loaded in a fresh Python process with PEFT (`import bslora` first), whose
 * scores must equal the worker's own evaluation of that adapter.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeProgram } from '../../control-plane/src/cli/program.js';
import { isControlPlaneError } from '../../control-plane/src/errors.js';
import { startLocalStack, type LocalStack } from '../../control-plane/src/local-stack.js';
import { REPO_ROOT, workerPython } from '../../control-plane/src/worker-process/python-path.js';
import { captureIo } from '../helpers/capture-io.js';
import { deleteKeysWithPrefix, TEST_REDIS_URL, uniquePrefix } from '../helpers/redis.js';
import { waitForSweepEnd, writeTinySpec } from '../helpers/sweep-helpers.js';

/** Loads each adapter directory on the base model in this fresh process and scores it as the worker does. */
const SCORE_ADAPTERS_PY = `
import json, sys
import torch
import bslora  # registers the BSLoRA method with PEFT
from peft import PeftModel
from bslora_worker.data import load_eval_items
from bslora_worker.evaluation import option_loglikelihoods, score_multiple_choice
from bslora_worker.models import load_base_model

ref, task, limit, dirs = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]
base = load_base_model(ref)
items = load_eval_items(task, limit=limit)
out = []
for adapter_dir in dirs:
    model = PeftModel.from_pretrained(base.model, adapter_dir)
    model.eval()
    with torch.no_grad():
        scores = score_multiple_choice(model, base.tokenizer, items)
        tuned = option_loglikelihoods(model, base.tokenizer, items[:4])
        with model.disable_adapter():
            untuned = option_loglikelihoods(model, base.tokenizer, items[:4])
    change = max(abs(a - b) for ta, ua in zip(tuned, untuned) for a, b in zip(ta, ua))
    out.append({"acc": scores["acc"], "acc_norm": scores["acc_norm"], "n": scores["n"], "adapter_changes_loglik": change,
                "peft_type": str(model.peft_config["default"].peft_type)})
    model.unload()
print(json.dumps(out))
`;

interface ResultsTrial {
  trialKey: string;
  name: string;
  method: string;
  trainable: number | null;
  meanAcc: number | null;
  result: {
    metrics: Record<string, { acc: number; accNorm: number; n: number }>;
    adapterSha256: string | null;
    counts: Record<string, number>;
  } | null;
}

describe('bslora adapter get, end to end', () => {
  const prefix = uniquePrefix('e2e-adapter');
  const home = mkdtempSync(join(tmpdir(), 'bslora-e2e-adapter-'));
  const out = join(home, 'out');
  let stack: LocalStack;
  let sweepId: string;
  let trials: ResultsTrial[];

  const cli = async (args: string[]) => {
    const cap = captureIo();
    const program = makeProgram(
      { homeDir: home, redisUrl: TEST_REDIS_URL, prefix, apiUrl: stack.apiUrl!, host: '127.0.0.1', port: 0 },
      cap.io,
    );
    const error = await program.parseAsync(args, { from: 'user' }).then(
      () => null,
      (e: unknown) => e,
    );
    return { error, stdout: cap.stdout(), stderr: cap.stderr() };
  };
  const byName = (name: string) => trials.find((t) => t.name === name)!;

  beforeAll(async () => {
    stack = await startLocalStack({ homeDir: home, redisUrl: TEST_REDIS_URL, prefix, port: 0 });
    const spec = writeTinySpec(
      home,
      'e2e-adapter',
      [
        'method: [base, lora, bslora]',
        'lora_ranks: [8]',
        'share_mode: slice',
        'ranks: [{local: 2, intra: 2, inter: 4}, {local: 1, intra: 1, inter: 1}]',
      ],
      {
        steps: 8,
        eval_limit: 24,
        seed: 5,
      },
    );
    const { loadSweepSpecFile } = await import('../../control-plane/src/sweep-specs/index.js');
    sweepId = (await stack.controlPlane.submit(await loadSweepSpecFile(spec))).sweepId;
    expect((await waitForSweepEnd(stack.controlPlane.store, sweepId, 240_000)).status).toBe('completed');
    trials = (
      (await (await fetch(`${stack.apiUrl}/api/v1/sweeps/${sweepId}/results?include=result`)).json()) as {
        trials: ResultsTrial[];
      }
    ).trials;
  }, 300_000);

  afterAll(async () => {
    await stack?.stop();
    await deleteKeysWithPrefix(prefix);
    rmSync(home, { recursive: true, force: true });
  });

  it("serves a finished trial's adapter as a tar with its sha256, byte for byte as stored", async () => {
    const lora = byName('lora-r8-s5');
    const res = await fetch(`${stack.apiUrl}/api/v1/sweeps/${sweepId}/trials/${lora.trialKey}/adapter`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/x-tar');
    const body = Buffer.from(await res.arrayBuffer());
    const sha = createHash('sha256').update(body).digest('hex');
    expect(res.headers.get('x-adapter-sha256')).toBe(sha);
    expect(sha).toBe(lora.result!.adapterSha256);
    expect(Number(res.headers.get('content-length'))).toBe(body.length);
    expect(body.subarray(257, 262).toString('ascii')).toBe('ustar');
  });

  it('answers 404 with a code for the base model, an unknown trial and an unknown sweep; reads need no token', async () => {
    const get = async (path: string) => {
      const res = await fetch(`${stack.apiUrl}${path}`);
      return { status: res.status, code: ((await res.json()) as { error: { code: string } }).error.code };
    };
    expect(await get(`/api/v1/sweeps/${sweepId}/trials/${byName('base-s5').trialKey}/adapter`)).toEqual({
      status: 404,
      code: 'CP_ERR_ADAPTER_NOT_FOUND',
    });
    expect(await get(`/api/v1/sweeps/${sweepId}/trials/${'0'.repeat(64)}/adapter`)).toEqual({
      status: 404,
      code: 'CP_ERR_TRIAL_NOT_FOUND',
    });
    expect(await get(`/api/v1/sweeps/sw-nope/trials/${byName('lora-r8-s5').trialKey}/adapter`)).toEqual({
      status: 404,
      code: 'CP_ERR_SWEEP_NOT_FOUND',
    });
  });

  it('writes adapters (by name, by key) that a fresh Python process loads with PEFT, scoring exactly as the worker did', async () => {
    const bs = byName('bslora-slice-2/2/4-s5');
    const lora = byName('lora-r8-s5');
    const bsDir = join(out, 'bs');
    const loraDir = join(out, 'lora');
    const r = await cli(['adapter', 'get', sweepId, bs.name, bsDir]);
    expect(r.error).toBeNull();
    expect(r.stdout).toContain(`wrote ${bs.name}`);
    expect((await cli(['adapter', 'get', sweepId, lora.trialKey, loraDir])).error).toBeNull();
    for (const dir of [bsDir, loraDir]) {
      expect(readdirSync(dir).sort()).toEqual([
        'README.md',
        'adapter_config.json',
        'adapter_model.safetensors',
        'bslora-trial.json',
      ]);
    }

    const card = readFileSync(join(bsDir, 'README.md'), 'utf8');
    expect(card).toMatch(/^---\nlibrary_name: peft\nbase_model: "builtin:tiny-llama"\n/);
    for (const text of [
      sweepId,
      bs.trialKey,
      bs.result!.adapterSha256!,
      '`builtin:arith`',
      'import bslora',
      'torch',
      'peft',
      'transformers',
    ])
      expect(card).toContain(text);
    const facts = JSON.parse(readFileSync(join(bsDir, 'bslora-trial.json'), 'utf8'));
    expect(facts.baseModel).toEqual({ ref: 'builtin:tiny-llama', kind: 'builtin', version: 'v1' });
    expect(facts.parameters).toEqual(bs.result!.counts);
    expect(facts.metrics).toEqual(bs.result!.metrics);
    expect(facts.coordinates.ranks).toEqual({ local: 2, intra: 2, inter: 4 });
    expect(facts.configuration.trialKey).toBe(bs.trialKey);
    expect(facts.sweep.id).toBe(sweepId);
    expect(Object.keys(facts.versions)).toEqual(expect.arrayContaining(['torch', 'transformers', 'peft']));

    const py = await execa(
      workerPython(),
      ['-c', SCORE_ADAPTERS_PY, 'builtin:tiny-llama', 'builtin:arith', '24', bsDir, loraDir],
      {
        cwd: REPO_ROOT,
        env: { OMP_NUM_THREADS: '1' },
      },
    );
    const [freshBs, freshLora] = JSON.parse(py.stdout.trim().split('\n').pop()!);
    expect(freshBs.peft_type).toContain('BSLORA');
    expect(freshLora.peft_type).toContain('LORA');
    for (const [fresh, trial] of [
      [freshBs, bs],
      [freshLora, lora],
    ] as const) {
      const worker = trial.result!.metrics['builtin:arith'];
      expect({ acc: fresh.acc, acc_norm: fresh.acc_norm, n: fresh.n }, trial.name).toEqual({
        acc: worker.acc,
        acc_norm: worker.accNorm,
        n: worker.n,
      });
      expect(fresh.adapter_changes_loglik, trial.name).toBeGreaterThan(1e-4);
    }
  }, 180_000);

  it('--best picks as an expect rule does, within --max-param-share of the LoRA baseline', async () => {
    const lora = byName('lora-r8-s5');
    const eligible = trials.filter((t) => t.method === 'bslora' && t.trainable! <= 0.5 * lora.trainable!);
    expect(eligible.length).toBeGreaterThan(0);
    const expected = [...eligible].sort((a, b) => b.meanAcc! - a.meanAcc!)[0];
    const dir = join(out, 'best');
    const r = await cli(['adapter', 'get', sweepId, '--best', '--max-param-share', '0.5', dir, '--json']);
    expect(r.error).toBeNull();
    const doc = JSON.parse(r.stdout);
    expect(doc.trialKey).toBe(expected.trialKey);
    expect(doc.dir).toBe(dir);
    expect(doc.why).toContain('at most 50.00%');
    expect(existsSync(join(dir, 'adapter_config.json'))).toBe(true);

    // Without the budget every BSLoRA trial competes.
    const all = [...trials.filter((t) => t.method === 'bslora')].sort((a, b) => b.meanAcc! - a.meanAcc!)[0];
    const r2 = await cli(['adapter', 'get', sweepId, '--best', join(out, 'best-any'), '--json']);
    expect(JSON.parse(r2.stdout).meanAcc).toBe(all.meanAcc);
  });

  it('refuses, writing nothing: the base model, an unknown trial, a non-empty directory, an impossible --best', async () => {
    const cases: [string[], string][] = [
      [['adapter', 'get', sweepId, 'base-s5', join(out, 'x1')], 'CP_ERR_ADAPTER_NOT_FOUND'],
      [['adapter', 'get', sweepId, 'no-such-trial', join(out, 'x2')], 'CP_ERR_TRIAL_NOT_FOUND'],
      [
        ['adapter', 'get', sweepId, '--best', '--max-param-share', '0.0001', join(out, 'x3')],
        'CP_ERR_ADAPTER_NOT_FOUND',
      ],
    ];
    for (const [args, code] of cases) {
      const r = await cli(args);
      expect(isControlPlaneError(r.error), args.join(' ')).toBe(true);
      expect((r.error as { code: string }).code).toBe(code);
      expect(existsSync(args[args.length - 1])).toBe(false);
    }
    const busy = join(out, 'busy');
    mkdirSync(busy, { recursive: true });
    writeFileSync(join(busy, 'keep.txt'), 'mine');
    const r = await cli(['adapter', 'get', sweepId, 'lora-r8-s5', busy]);
    expect((r.error as { code: string }).code).toBe('CP_ERR_OUTPUT_EXISTS');
    expect(readdirSync(busy)).toEqual(['keep.txt']);
    expect(readdirSync(out).filter((n) => n.includes('.part-'))).toEqual([]);
  });
});
