/**
 * A sweep with three seeds per configuration, end to end through the real parts that aggregate it: submitted over
 * the REST API to a real ControlPlane (real Redis, unique prefix, a temporary SQLite store), each trial's eval result
 * (per-item correctness included) fed to the recorder's own `recordEvalResult`, the sweep closed by `finishSweep`,
 * and the results read back through GET results (JSON and CSV) and the webhook payload.
 *
 * Per-item correctness is built so the truth is known: item i of seed s is right when u = (37 i + 11 s) mod 100
 * lies below a threshold (u runs over 0..99 once for 100 items, so accuracy is exactly threshold / 100):
 *
 * - lora-r8 (reference): u < 68 + 2s → 0.68, 0.70, 0.72;
 * - bslora-slice-4/2/2 ("real"): u < 83 + 2s → 0.83, 0.85, 0.87: right on every item the reference gets right and
 *   on 15 more, a real difference of +15 points;
 * - bslora-slice-2/2/4 ("noise"): (53 i + 29 s + 7) mod 100 < 69 + 3s → 0.69, 0.72, 0.75, on unrelated items: +2
 *   points on average, within the noise.
 *
 * Reference values (SciPy 1.17.1 / NumPy 2.4.6 in .venv), from:
 *   accs = [f(s).mean() for s in range(3)]; m = np.mean(accs); sd = np.std(accs, ddof=1)
 *   h = stats.t.ppf(0.975, 2) * sd / np.sqrt(3)                       # → m - h, m + h
 *   # paired bootstrap: the NumPy reimplementation in stats.test.ts with one task of 100 items and 3 + 3 seeds
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteKeysWithPrefix, TEST_REDIS_URL, uniquePrefix } from '../../../test/helpers/redis.js';
import { buildApp } from '../api/app.js';
import { sweepConfigurationsSchema, sweepResultsSchema, webhookPayloadSchema } from '../api/api-schemas.js';
import { ControlPlane } from '../control-plane.js';
import { finishSweep } from '../recorder/result-recorder.js';
import { recordItemResults, type ItemTruth } from '../../../test/helpers/item-results.js';
import { itemsOfRows } from '../store/item-correctness.js';
import { buildWebhookPayload } from '../webhooks/webhook-payload.js';
import { makeProgram } from '../cli/program.js';
import { captureIo } from '../../../test/helpers/capture-io.js';

const TOKEN = 'test-token-0123456789';
const TASK = 'builtin:arith';

const SPEC = `name: three-seeds
base_model: builtin:tiny-llama
train_data: builtin:arith
eval_tasks: [${TASK}]
target_modules: [q_proj, v_proj]
training: {steps: 3, learning_rate: 0.003, batch_size: 4, seq_len: 64, seeds: [0, 1, 2], eval_limit: 100}
grid:
  method: [lora, bslora]
  lora_ranks: [8]
  share_mode: slice
  ranks: [{local: 2, intra: 2, inter: 4}, {local: 4, intra: 2, inter: 2}]
expect:
  - {name: noise-without-confidence, best: "bslora:slice:2/2/4", at_least: "lora:r8"}
  - {name: noise-at-95, best: "bslora:slice:2/2/4", at_least: "lora:r8", confidence: 0.95}
  - {name: real-at-95, best: "bslora:slice:4/2/2", at_least: "lora:r8 + 5", confidence: 0.95}
`;

const correct: ItemTruth = {
  'lora-r8': (i, s) => (i * 37 + s * 11) % 100 < 68 + 2 * s,
  'bslora-slice-4/2/2': (i, s) => (i * 37 + s * 11) % 100 < 83 + 2 * s,
  'bslora-slice-2/2/4': (i, s) => (i * 53 + s * 29 + 7) % 100 < 69 + 3 * s,
};
const params: Record<string, number> = { 'lora-r8': 8192, 'bslora-slice-4/2/2': 4096, 'bslora-slice-2/2/4': 3072 };

describe('a sweep with three seeds per configuration', () => {
  const prefix = uniquePrefix('stats');
  const home = mkdtempSync(join(tmpdir(), 'bslora-stats-'));
  let cp: ControlPlane;
  let app: FastifyInstance;
  let sweepId: string;

  beforeAll(async () => {
    cp = await ControlPlane.start({ redisUrl: TEST_REDIS_URL, prefix, homeDir: home });
    app = buildApp({ controlPlane: cp, token: TOKEN });
    const res = await app.inject({
      method: 'POST',
      url: '/api/v1/sweeps',
      payload: SPEC,
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/yaml' },
    });
    expect(res.statusCode).toBe(201);
    sweepId = res.json().id;
    recordItemResults(cp, sweepId, { tasks: [TASK], items: 100, correct, params });
    expect(finishSweep(cp.store, sweepId)).toBe('completed');
  });

  afterAll(async () => {
    await app?.close();
    await cp?.close();
    await deleteKeysWithPrefix(prefix);
    rmSync(home, { recursive: true, force: true });
  });

  const results = async (query = '') =>
    sweepResultsSchema.parse((await app.inject(`/api/v1/sweeps/${sweepId}/results${query}`)).json());
  const row = (r: Awaited<ReturnType<typeof results>>, name: string) =>
    r.configurations.configurations.find((c) => c.name === name)!;

  it('has one configuration row per configuration with n, mean, sd and the t interval over seeds (SciPy values)', async () => {
    const r = await results();
    expect(r.trials).toHaveLength(9);
    expect(r.configurations.configurations.map((c) => c.name).sort()).toEqual(Object.keys(correct).sort());
    const cases: [string, number, number, number, number][] = [
      ['lora-r8', 0.6999999999999998, 0.019999999999999962, 0.6503172457649933, 0.7496827542350064],
      ['bslora-slice-4/2/2', 0.85, 0.020000000000000018, 0.8003172457649933, 0.8996827542350067],
      ['bslora-slice-2/2/4', 0.7200000000000001, 0.030000000000000027, 0.6454758686474901, 0.7945241313525101],
    ];
    for (const [name, mean, sd, lo, hi] of cases) {
      const c = row(r, name);
      expect(c.seeds).toEqual([0, 1, 2]);
      for (const m of [c.mean!, c.tasks[TASK]!]) {
        expect(m.n).toBe(3);
        expect(m.mean).toBeCloseTo(mean, 12);
        expect(m.sd).toBeCloseTo(sd, 12);
        expect(m.lo).toBeCloseTo(lo, 12);
        expect(m.hi).toBeCloseTo(hi, 12);
      }
    }
    expect(row(r, 'bslora-slice-4/2/2')).toMatchObject({ sharingRatio: 0.5, intraFraction: 0.5 });
    expect(row(r, 'bslora-slice-2/2/4').sharingRatio).toBeCloseTo(0.75, 12);
    expect(row(r, 'bslora-slice-2/2/4').intraFraction).toBeCloseTo(1 / 3, 12);
  });

  it('pairs each configuration with the LoRA baseline item by item (NumPy bootstrap values)', async () => {
    const r = await results();
    expect(r.configurations.reference).toBe('lora-r8');
    expect(row(r, 'lora-r8').vsReference).toBeNull();
    const real = row(r, 'bslora-slice-4/2/2').vsReference!;
    expect(real.versus).toBe('lora-r8');
    expect(real.mean!.mean).toBeCloseTo(0.15000000000000013, 12);
    expect(real.mean!.lo).toBeCloseTo(0.07991666666666664, 12);
    expect(real.mean!.hi).toBeCloseTo(0.21666666666666656, 12);
    expect(real.tasks[TASK]).toEqual(real.mean);
    const noise = row(r, 'bslora-slice-2/2/4').vsReference!.mean!;
    expect(noise.mean).toBeCloseTo(0.02000000000000024, 12);
    expect(noise.lo).toBeCloseTo(-0.07666666666666666, 12);
    expect(noise.hi).toBeCloseTo(0.1166666666666667, 12);
    expect(noise).toMatchObject({ items: 100, seeds: { candidate: 3, reference: 3 }, replicates: 2000 });
  });

  it('marks the front over configuration means, and which front points are within the noise', async () => {
    const r = await results();
    // 2/2/4 (3,072 params, 72.0) and 4/2/2 (4,096, 85.0) are on the front; LoRA (8,192, 70.0) is dominated.
    expect(row(r, 'lora-r8').onFront).toBe(false);
    expect(row(r, 'bslora-slice-2/2/4')).toMatchObject({ onFront: true, frontNoise: null });
    expect(row(r, 'bslora-slice-4/2/2').frontNoise).toMatchObject({
      versus: 'bslora-slice-2/2/4',
      withinNoise: false,
    });
  });

  it('gates expect rules on confidence: fails on noise, passes on a real difference; without confidence it fires on noise', async () => {
    const r = await results();
    const [plain, noise, real] = r.expect;
    expect(plain).toMatchObject({ name: 'noise-without-confidence', passed: true });
    expect(noise).toMatchObject({ name: 'noise-at-95', passed: false });
    expect(noise!.message).toContain('paired difference to lora-r8 +2.00 [-7.67, +11.67] at 95.00%');
    expect(noise!.message).toContain('not beyond the noise');
    expect(real).toMatchObject({ name: 'real-at-95', passed: true });
    expect(real!.message).toContain('lower bound +7.99 >= +5.00');
    expect(r.expectPassed).toBe(false);
    // The verdict stored when the sweep closed is the same.
    const summary = cp.store.getSweep(sweepId)!.summary as { expect: { passed: boolean }[] };
    expect(summary.expect.map((v) => v.passed)).toEqual([true, false, true]);
  });

  it('takes another reference on request, and refuses one that is not a configuration', async () => {
    const r = await results('?reference=bslora-slice-2/2/4');
    expect(r.configurations.reference).toBe('bslora-slice-2/2/4');
    expect(row(r, 'lora-r8').vsReference!.mean!.mean).toBeCloseTo(-0.02, 12);
    const bad = await app.inject(`/api/v1/sweeps/${sweepId}/results?reference=lora-r99`);
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.message).toMatch(
      /reference 'lora-r99' is not a configuration of this sweep; use one of: .*lora-r8/,
    );
  });

  it('serves the configurations alone, equal to those in the results document, for any reference', async () => {
    for (const query of ['', '?reference=bslora-slice-2/2/4']) {
      const res = await app.inject(`/api/v1/sweeps/${sweepId}/configurations${query}`);
      expect(res.statusCode).toBe(200);
      const alone = sweepConfigurationsSchema.parse(res.json());
      expect(alone.configurations).toEqual((await results(query)).configurations);
      expect(res.body.length).toBeLessThan(
        (await app.inject(`/api/v1/sweeps/${sweepId}/results${query}`)).body.length,
      );
    }
    const bad = await app.inject(`/api/v1/sweeps/${sweepId}/configurations?reference=lora-r99`);
    expect(bad.statusCode).toBe(400);
    expect((await app.inject('/api/v1/sweeps/sw-nope/configurations')).statusCode).toBe(404);
  });

  it('prints configuration rows as mean ± half-width (n) in `bslora sweep results`', async () => {
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    const cap = captureIo();
    const program = makeProgram(
      { homeDir: home, redisUrl: TEST_REDIS_URL, prefix, apiUrl: url, host: '127.0.0.1', port: 0 },
      cap.io,
    );
    program.exitOverride();
    await program.parseAsync(['sweep', 'results', sweepId], { from: 'user' });
    const out = cap.stdout();
    expect(out).toContain('mean acc ± 95% CI (n)');
    expect(out).toContain('vs lora-r8 [95% CI]');
    const line = (name: string) => out.split('\n').find((l) => l.startsWith(`${name} `))!;
    // 85.0 ± 5.0: the t half-width 0.0496827… in points; +15.0 [+8.0, +21.7]: the paired bootstrap.
    expect(line('bslora-slice-4/2/2')).toMatch(
      /3\/3\s+4,096\s+85\.0 ± 5\.0 \(3\)\s+\+15\.0 \[\+8\.0, \+21\.7\]\s+yes$/,
    );
    expect(line('bslora-slice-2/2/4')).toMatch(/72\.0 ± 7\.5 \(3\)\s+\+2\.0 \[-7\.7, \+11\.7\]\s+yes$/);
    expect(line('lora-r8')).toMatch(/70\.0 ± 5\.0 \(3\)\s+\(reference\)/);
  });

  it('puts configuration rows with intervals in the CSV and the webhook payload', async () => {
    const csv = (await app.inject(`/api/v1/sweeps/${sweepId}/results?format=csv`)).body.trim().split('\n');
    const header = csv[0]!.split(',');
    const lines = csv.slice(1).map((l) => Object.fromEntries(l.split(',').map((v, i) => [header[i], v])));
    expect(lines.filter((l) => l.kind === 'trial')).toHaveLength(9);
    const real = lines.find((l) => l.kind === 'configuration' && l.trial === 'bslora-slice-4/2/2')!;
    expect(Number(real.mean_acc)).toBeCloseTo(0.85, 12);
    expect(Number(real.mean_acc_lo)).toBeCloseTo(0.8003172457649933, 12);
    expect(Number(real.diff_lo)).toBeCloseTo(0.07991666666666664, 12);
    expect(real.reference).toBe('lora-r8');

    const sweep = cp.store.getSweep(sweepId)!;
    const rows = cp.store.trialsOfSweep(sweepId);
    const payload = webhookPayloadSchema.parse(
      buildWebhookPayload(sweep, rows, 'completed', 'd1', '', itemsOfRows(cp.store.db, rows)),
    );
    expect(payload.summary.reference).toBe('lora-r8');
    const hook = payload.summary.configurations.find((c) => c.name === 'bslora-slice-4/2/2')!;
    expect(hook).toMatchObject({ seeds: 3, trainable: 4096 });
    expect(hook.lo).toBeCloseTo(0.8003172457649933, 12);
    expect(hook.diff!.lo).toBeCloseTo(0.07991666666666664, 12);
    expect(payload.summary.expect.map((v) => v.passed)).toEqual([true, false, true]);
  });
});
