/**
 * Comparisons across sweeps on real parts: sweeps submitted over the REST API to a real ControlPlane (real Redis,
 * unique prefix, temporary store), results with per-item correctness fed through the recorder, then
 * GET /api/v1/comparisons and `bslora compare` against a listening server.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { captureIo } from '../../../test/helpers/capture-io.js';
import { recordItemResults } from '../../../test/helpers/item-results.js';
import { deleteKeysWithPrefix, TEST_REDIS_URL, uniquePrefix } from '../../../test/helpers/redis.js';
import { comparisonResponseSchema, sweepResultsSchema } from '../api/api-schemas.js';
import { buildApp } from '../api/app.js';
import { makeProgram } from '../cli/program.js';
import { ControlPlane } from '../control-plane.js';
import { finishSweep } from '../recorder/result-recorder.js';

const TOKEN = 'test-token-0123456789';

const spec = (o: { seeds: number[]; model?: string; task?: string; limit?: number; lr?: number }) => `name: cmp
base_model: ${o.model ?? 'builtin:tiny-llama'}
train_data: builtin:arith
eval_tasks: [${o.task ?? 'builtin:arith'}]
target_modules: [q_proj, v_proj]
training: {steps: 3, learning_rate: ${o.lr ?? 0.003}, batch_size: 4, seq_len: 64, seeds: [${o.seeds.join(', ')}], eval_limit: ${o.limit ?? 100}}
grid:
  method: [lora, bslora]
  lora_ranks: [8]
  share_mode: slice
  ranks: [{local: 4, intra: 2, inter: 2}]
`;

// As in three-seed-sweep.test.ts: LoRA 0.68/0.70/0.72 and BSLoRA right on every item LoRA gets right and 15 more.
const correct = {
  'lora-r8': (i: number, s: number) => (i * 37 + s * 11) % 100 < 68 + 2 * s,
  'bslora-slice-4/2/2': (i: number, s: number) => (i * 37 + s * 11) % 100 < 83 + 2 * s,
};
const params = { 'lora-r8': 8192, 'bslora-slice-4/2/2': 4096 };

describe('comparisons across sweeps', () => {
  const prefix = uniquePrefix('compare');
  const home = mkdtempSync(join(tmpdir(), 'bslora-compare-'));
  let cp: ControlPlane;
  let app: FastifyInstance;
  let url: string;
  const ids: Record<string, string> = {};

  const submit = async (name: string, text: string, task = 'builtin:arith') => {
    const res = await app.inject({
      method: 'POST',
      url: '/api/v1/sweeps',
      payload: text,
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/yaml' },
    });
    expect(res.statusCode, res.body).toBe(201);
    ids[name] = res.json().id;
    recordItemResults(cp, ids[name]!, { tasks: [task], items: 100, correct, params });
    finishSweep(cp.store, ids[name]!);
  };

  beforeAll(async () => {
    cp = await ControlPlane.start({ redisUrl: TEST_REDIS_URL, prefix, homeDir: home });
    app = buildApp({ controlPlane: cp, token: TOKEN });
    await submit('first', spec({ seeds: [0, 1] }));
    await submit('second', spec({ seeds: [1, 2] }));
    await submit('limit', spec({ seeds: [0], limit: 200 }));
    await submit('model', spec({ seeds: [0], model: 'builtin:smollm2-135m' }));
    await submit('task', spec({ seeds: [0], task: 'builtin:arith/test' }), 'builtin:arith/test');
    await submit('otherLr', spec({ seeds: [0, 1, 2], lr: 0.001 }));
    url = await app.listen({ host: '127.0.0.1', port: 0 });
  });

  afterAll(async () => {
    await app?.close();
    await cp?.close();
    await deleteKeysWithPrefix(prefix);
    rmSync(home, { recursive: true, force: true });
  });

  const compare = (q: string) => app.inject(`/api/v1/comparisons?${q}`);

  it('pools the seeds of one configuration from several sweeps, counting a shared trial once', async () => {
    const res = await compare(`sweeps=${ids.first},${ids.second}`);
    expect(res.statusCode, res.body).toBe(200);
    const c = comparisonResponseSchema.parse(res.json());
    expect(c.sweeps.map((s) => s.id)).toEqual([ids.first, ids.second]);
    expect(c).toMatchObject({
      baseModel: 'builtin:tiny-llama',
      evalTasks: ['builtin:arith'],
      evalLimit: 100,
      trials: 6,
    });
    const bs = c.configurations.configurations.find((k) => k.name === 'bslora-slice-4/2/2')!;
    expect(bs.seeds).toEqual([0, 1, 2]);
    // The same numbers as the three-seed sweep of three-seed-sweep.test.ts (SciPy / NumPy reference values).
    expect(bs.mean!.lo).toBeCloseTo(0.8003172457649933, 12);
    expect(bs.vsReference!.mean!.lo).toBeCloseTo(0.07991666666666664, 12);
    // Each sweep alone has two seeds and wider intervals.
    const alone = sweepResultsSchema.parse((await app.inject(`/api/v1/sweeps/${ids.first}/results`)).json());
    const bsAlone = alone.configurations.configurations.find((k) => k.name === 'bslora-slice-4/2/2')!;
    expect(bsAlone.seeds).toEqual([0, 1]);
    expect(bsAlone.mean!.halfWidth!).toBeGreaterThan(bs.mean!.halfWidth!);
  });

  it('keeps configurations apart that share a name but not their plan', async () => {
    const c = comparisonResponseSchema.parse((await compare(`sweeps=${ids.first},${ids.otherLr}`)).json());
    const names = c.configurations.configurations.map((k) => k.name);
    expect(names).toHaveLength(4);
    expect(names.filter((n) => n.startsWith('lora-r8#'))).toHaveLength(2);
  });

  it.each([
    ['limit', 'different eval limit (100 vs 200)'],
    ['model', 'different base model ("builtin:tiny-llama" vs "builtin:smollm2-135m")'],
    ['task', 'different eval tasks (["builtin:arith"] vs ["builtin:arith/test"])'],
  ])('refuses sweeps with a different %s, saying how they differ', async (name, reason) => {
    const res = await compare(`sweeps=${ids.first},${ids[name]}`);
    expect(res.statusCode).toBe(422);
    expect(res.json().error).toEqual({
      code: 'CP_ERR_SWEEPS_INCOMPARABLE',
      message: `sweeps ${ids.first} and ${ids[name]} cannot be compared: ${reason}`,
    });
  });

  it('answers 404 for an unknown sweep and 400 for a reference that is not a configuration', async () => {
    expect((await compare(`sweeps=${ids.first},sw-nope`)).json().error).toEqual({
      code: 'CP_ERR_SWEEP_NOT_FOUND',
      message: "no sweep has id 'sw-nope'",
    });
    const bad = await compare(`sweeps=${ids.first}&reference=lora-r99`);
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.message).toBe("reference 'lora-r99' is not a configuration of these sweeps");
  });

  it('prints the comparison with `bslora compare`, and refuses incomparable sweeps with exit code 2', async () => {
    const cli = () => {
      const cap = captureIo();
      const program = makeProgram(
        { homeDir: home, redisUrl: TEST_REDIS_URL, prefix, apiUrl: url, host: '127.0.0.1', port: 0 },
        cap.io,
      );
      program.exitOverride();
      return { program, cap };
    };
    const ok = cli();
    await ok.program.parseAsync(['compare', ids.first!, ids.second!], { from: 'user' });
    expect(ok.cap.stdout()).toContain(
      `2 sweeps (${ids.first}, ${ids.second}), 6 trials; base model builtin:tiny-llama`,
    );
    expect(ok.cap.stdout()).toMatch(
      /bslora-slice-4\/2\/2\s+bslora\s+3\/3\s+4,096\s+85\.0 ± 5\.0 \(3\)\s+\+15\.0 \[\+8\.0, \+21\.7\]/,
    );
    const refused = cli();
    const err = await refused.program
      .parseAsync(['compare', ids.first!, ids.limit!], { from: 'user' })
      .catch((e) => e);
    expect(err).toMatchObject({ code: 'CP_ERR_SWEEPS_INCOMPARABLE', exitCode: 2 });
    expect(err.message).toContain('different eval limit (100 vs 200)');
  });
});
