/** The specs committed under jobs/ are valid, and jobs/sweep.schema.json is what the zod schema generates. */
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import { expandSweep } from './expand-sweep.js';
import { classifyRef } from './resource-refs.js';
import { trialScale } from './training-settings.js';
import { LrScheduler, PromptTemplate } from '../gen/bslora_api/worker/v1/worker_service.js';
import { loadSweepSpecFile } from './load-sweep-spec-file.js';
import { SWEEP_SPEC_JSON_SCHEMA_PATH, buildSweepSpecJsonSchema } from './sweep-spec-json-schema.js';
import { trialCoordinates } from './trial-coordinates.js';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const JOBS_DIR = join(REPO_ROOT, 'jobs');

function specFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) return specFiles(full);
    if (/\.ya?ml$/.test(entry.name) || (entry.name.endsWith('.json') && !entry.name.endsWith('.schema.json')))
      return [full];
    return [];
  });
}

describe('jobs/', () => {
  const files = specFiles(JOBS_DIR);

  it('holds the quick start and the paper spec', () => {
    const names = files.map((f) => relative(JOBS_DIR, f));
    expect(names).toEqual(
      expect.arrayContaining(['quickstart.yaml', 'smollm2-commonsense.yaml', 'paper/llama2-7b-commonsense.yaml']),
    );
  });

  it.each(files.map((f) => [relative(REPO_ROOT, f), f]))('%s validates and expands', async (_name, file) => {
    const spec = await loadSweepSpecFile(file);
    const trials = expandSweep(spec);
    expect(trials.length).toBeGreaterThan(0);
    expect(new Set(trials.map((t) => t.trialKey)).size).toBe(trials.length);
    if (spec.budget?.max_trials !== undefined) expect(trials.length).toBeLessThanOrEqual(spec.budget.max_trials);
  });

  it.each(files.map((f) => [relative(REPO_ROOT, f), f]))(
    '%s names only data a user gets by name (no local paths)',
    async (_name, file) => {
      const spec = await loadSweepSpecFile(file);
      for (const ref of [spec.base_model, spec.train_data, ...spec.eval_tasks]) {
        expect(classifyRef(ref), `${ref} in ${file}`).not.toBe('local');
        expect(ref.startsWith('lm-eval:') ? ref.slice('lm-eval:'.length) : ref).not.toMatch(/^(\/|\.\.?\/|~)/);
      }
    },
  );

  it.each(files.map((f) => [relative(REPO_ROOT, f), f]))(
    '%s opens with a comment giving the command to run it',
    (_name, file) => {
      const header = readFileSync(file, 'utf8')
        .split('\n')
        .filter((l) => l.startsWith('#'))
        .join('\n');
      expect(header).toMatch(/bslora (demo|sweep submit)/);
    },
  );

  it('quickstart is a BSLoRA trial and a LoRA baseline, small enough for a laptop CPU', async () => {
    const trials = expandSweep(await loadSweepSpecFile(join(JOBS_DIR, 'quickstart.yaml')));
    expect(trials.length).toBeGreaterThanOrEqual(2);
    expect(trials.length).toBeLessThanOrEqual(4);
    expect(trials.map((t) => t.method?.$case)).toEqual(expect.arrayContaining(['bslora', 'lora']));
    for (const t of trials) {
      expect(t.baseModel).toBe('builtin:tiny-llama');
      expect(t.training?.length).toMatchObject({ $case: 'steps' });
      expect(t.training?.length?.value).toBeLessThanOrEqual(50);
    }
  });

  it('the paper spec uses the reference settings', async () => {
    const trials = expandSweep(await loadSweepSpecFile(join(JOBS_DIR, 'paper/llama2-7b-commonsense.yaml')));
    const coords = trials.map(trialCoordinates);
    const bslora = coords.filter((t) => t.method === 'bslora');
    expect(coords.filter((t) => t.method === 'lora').map((t) => t.rank)).toEqual([8, 16]);
    expect(bslora.map((t) => `${t.shareMode} ${t.ranks!.local}/${t.ranks!.intra}/${t.ranks!.inter}`)).toEqual([
      'gate 2/4/8',
      'gate 2/4/16',
      'gate 2/8/8',
      'kron 4/8/8',
      'kron 2/4/16',
      'kron 2/8/16',
      'kron 2/8/32',
    ]);
    for (const t of bslora) expect(t.shareSize).toBe(t.shareMode === 'kron' ? 256 : 1024);
    expect(trials[0]!.baseModel).toBe('meta-llama/Llama-2-7b-hf');
    expect(trials[0]!.training).toMatchObject({
      length: { $case: 'steps', value: 800 },
      learningRate: 1e-4,
      batchSize: 64,
      microBatchSize: 4,
      seqLen: 256,
      warmupSteps: 100,
      lrScheduler: LrScheduler.LR_SCHEDULER_LINEAR,
      trainOnInputs: false,
      promptTemplate: PromptTemplate.PROMPT_TEMPLATE_ALPACA,
    });
    expect(trials[1]!.targetModules).toEqual(['q_proj', 'k_proj', 'v_proj', 'up_proj', 'down_proj']);
    // scale 2 for every adapter (the reference's), dropout 0.05, no dropout on the kron shared path
    const adapters = trials.filter((t) => t.method!.$case !== 'base');
    expect(new Set(adapters.map(trialScale))).toEqual(new Set([2]));
    for (const t of adapters) expect(t.method!.value).toMatchObject({ loraDropout: 0.05 });
    for (const t of trials.filter((t) => t.method!.$case === 'bslora' && t.method!.value.share?.$case === 'kron')) {
      expect(t.method!.value).toMatchObject({ share: { value: { sharedDropout: false } } });
    }
    expect(trials[0]!.trainData).toBe('yahma/alpaca-cleaned');
    expect(trials[0]!.evalTasks.map((r) => r.replace('lm-eval:', '')).sort()).toEqual([
      'arc_challenge',
      'arc_easy',
      'boolq',
      'hellaswag',
      'openbookqa',
      'piqa',
      'social_iqa',
      'winogrande',
    ]);
  });
});

describe(SWEEP_SPEC_JSON_SCHEMA_PATH, () => {
  it('is fresh (regenerate with: npx tsx infra/scripts/gen-spec-schema.ts)', () => {
    const committed = readFileSync(join(REPO_ROOT, SWEEP_SPEC_JSON_SCHEMA_PATH), 'utf8');
    expect(committed).toBe(buildSweepSpecJsonSchema());
  });

  it("forbids unknown keys in every object but a PEFT config (whose keys the worker's PEFT checks at submit)", () => {
    const schema = JSON.parse(buildSweepSpecJsonSchema()) as Record<string, unknown>;
    const objects: Record<string, unknown>[] = [];
    const walk = (node: unknown): void => {
      if (Array.isArray(node)) node.forEach(walk);
      else if (node && typeof node === 'object') {
        const n = node as Record<string, unknown>;
        if (n.type === 'object') objects.push(n);
        Object.values(n).forEach(walk);
      }
    };
    walk(schema);
    expect(objects.length).toBeGreaterThan(8);
    const peftConfig = (o: Record<string, unknown>) => Object.keys(o.properties as object).join() === 'peft_type';
    expect(objects.filter(peftConfig)).toHaveLength(1);
    for (const o of objects.filter((x) => !peftConfig(x))) expect(o.additionalProperties).toBe(false);
  });
});
