/**
 * The cross-language trial contract: every spec in jobs/ and every spec (or spec fragment) shown in docs/ is expanded
 * by the planner, serialised to proto bytes, and read by the worker's own code (worker-py/tests/contract/
 * read_trials.py: the typed view, the PEFT config, the first step's learning rate). Checks that what the spec says is
 * what the worker builds, that each default documented in docs/sweep-spec.md arrives as documented (also when a
 * client leaves the optional fields unset), that `warmup_steps: 0` means no warm-up, and that both languages know the
 * same enum values and oneof cases.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';

import { BSLoraSettings, Trial } from '../../control-plane/src/gen/bslora_api/worker/v1/worker_service.js';
import {
  METHOD_VERSIONS,
  METHODS,
  SHARE_MODES,
  TASK_TYPES,
  TRIAL_DEFAULTS,
  expandSweep,
  loadSweepSpecFile,
  parseSweepSpec,
  sweepSpecObjectSchema,
  taskTypeName,
  taskTypeOf,
  trialCoordinates,
} from '../../control-plane/src/sweep-specs/index.js';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const PYTHON = join(REPO, '.venv', 'bin', 'python');
const READER = join(REPO, 'worker-py', 'tests', 'contract', 'read_trials.py');

interface Read {
  name: string;
  method: string;
  method_version: string;
  task_type: string;
  rank: number;
  ranks: [number, number, number];
  share_mode: string;
  share_size: number | null;
  lora_alpha: number | null;
  lora_dropout: number;
  warmup_steps: number;
  steps: number;
  epochs: number;
  learning_rate: number;
  seed: number;
  first_step_lr: number;
  /** Every `training.*` and `adapter.*` setting of the defaults file, as the worker reads it. */
  settings: Record<string, unknown>;
  peft: Record<string, unknown> | null;
}
interface Report {
  enums: { methods: string[]; share_modes: string[]; task_types: string[] };
  oneofs: { method: string[]; share: string[] };
  method_versions: Record<string, string>;
  defaults: unknown;
  trials: { source: string; as_sent: Read; unset: Read }[];
}

function filesUnder(dir: string, suffix: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith(suffix))
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

const SPEC_KEYS = new Set(Object.keys(sweepSpecObjectSchema.shape));

/** The YAML blocks of docs/ that are specs or spec fragments (every top-level key a spec key), with their place. */
function docSpecBlocks(): { source: string; spec: Record<string, unknown> }[] {
  const out: { source: string; spec: Record<string, unknown> }[] = [];
  for (const file of filesUnder(join(REPO, 'docs'), '.md')) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/^```ya?ml\n([\s\S]*?)^```/gm)) {
      const data = parse(m[1]!) as unknown;
      if (!data || typeof data !== 'object' || Array.isArray(data)) continue;
      if (!Object.keys(data).every((k) => SPEC_KEYS.has(k))) continue;
      const line = text.slice(0, m.index).split('\n').length;
      out.push({ source: `${relative(REPO, file)}:${line}`, spec: data as Record<string, unknown> });
    }
  }
  return out;
}

/** The defaults table of docs/sweep-spec.md, by setting path. */
function documentedDefaults(): Record<string, unknown> {
  const doc = readFileSync(join(REPO, 'docs', 'sweep-spec.md'), 'utf8');
  const table = /<!-- trial-defaults:begin -->([\s\S]*?)<!-- trial-defaults:end -->/.exec(doc)![1]!;
  const rows = [...table.matchAll(/^\| `([^`]+)` \| `([^`]+)` \|$/gm)];
  return Object.fromEntries(
    rows.map((r) => [r[1]!, JSON.parse(/^[\d[{]|^(true|false)$/.test(r[2]!) ? r[2]! : JSON.stringify(r[2]))]),
  );
}

/** Every trial of every spec, the first of each with its source. */
async function plannedTrials(): Promise<{ source: string; trial: Trial }[]> {
  const out: { source: string; trial: Trial }[] = [];
  for (const file of filesUnder(join(REPO, 'jobs'), '.yaml')) {
    for (const trial of expandSweep(await loadSweepSpecFile(file))) out.push({ source: relative(REPO, file), trial });
  }
  // Its budget and expect rules are about its own grid; a fragment brings its own.
  const {
    budget: _b,
    expect: _e,
    ...quickstart
  } = parse(readFileSync(join(REPO, 'jobs', 'quickstart.yaml'), 'utf8')) as Record<string, unknown>;
  for (const { source, spec } of docSpecBlocks()) {
    // A fragment (a grid, expect rules, webhooks) is shown on top of the quick-start spec.
    const full = 'base_model' in spec ? spec : { ...quickstart, ...spec };
    for (const trial of expandSweep(
      parseSweepSpec(JSON.stringify(full), { format: 'json', baseDir: join(REPO, 'docs') }),
    )) {
      out.push({ source, trial });
    }
  }
  // Every default left out, and warm-up 0 written out.
  const minimal = {
    name: 'contract-defaults',
    base_model: 'builtin:tiny-llama',
    train_data: 'builtin:arith',
    eval_tasks: ['builtin:arith'],
    target_modules: ['q_proj', 'v_proj'],
    training: { steps: 200, learning_rate: 0.01, batch_size: 2, seq_len: 16 },
    grid: { method: ['base', 'lora', 'vera', 'bslora'], lora_ranks: [8], ranks: [{ local: 2, intra: 2, inter: 4 }] },
  };
  for (const trial of expandSweep(parseSweepSpec(JSON.stringify(minimal), { format: 'json' })))
    out.push({ source: 'defaults', trial });
  // A PEFT baseline of each kind the docs name, as planned before a worker validated it.
  const peft = {
    ...minimal,
    name: 'contract-peft',
    grid: {
      method: ['peft'],
      peft: [
        { name: 'lokr-r8', peft: { peft_type: 'LOKR', r: 8, alpha: 16 } },
        { name: 'fourierft', peft: { peft_type: 'FOURIERFT', n_frequency: 64, target_modules: ['q_proj'] } },
        { name: 'vblora', peft: { peft_type: 'VBLORA', r: 4, num_vectors: 16, vector_length: 8 } },
      ],
    },
  };
  for (const trial of expandSweep(parseSweepSpec(JSON.stringify(peft), { format: 'json' })))
    out.push({ source: 'peft', trial });
  const zero = {
    ...minimal,
    name: 'contract-zero',
    training: { ...minimal.training, warmup_steps: 0 },
    task_type: 'seq_cls',
  };
  for (const trial of expandSweep(parseSweepSpec(JSON.stringify(zero), { format: 'json' })))
    out.push({ source: 'warmup-0', trial });
  return out;
}

describe('the trial contract between the planner and the worker', () => {
  let planned: { source: string; trial: Trial }[];
  let report: Report;
  let dir: string;

  beforeAll(async () => {
    planned = await plannedTrials();
    dir = mkdtempSync(join(tmpdir(), 'trial-contract-'));
    const input = join(dir, 'trials.json');
    writeFileSync(
      input,
      JSON.stringify(
        planned.map(({ source, trial }) => ({
          source,
          bytes: Buffer.from(Trial.encode(trial).finish()).toString('base64'),
        })),
      ),
    );
    const run = spawnSync(PYTHON, [READER, input], { cwd: REPO, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    expect(run.status, run.stderr).toBe(0);
    report = JSON.parse(run.stdout) as Report;
  }, 120_000);
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('covers every spec in jobs/ and every spec shown in docs/', () => {
    const sources = new Set(planned.map((p) => p.source.replace(/:\d+$/, '')));
    for (const f of filesUnder(join(REPO, 'jobs'), '.yaml')) expect(sources).toContain(relative(REPO, f));
    expect(docSpecBlocks().length).toBeGreaterThanOrEqual(4);
    for (const b of docSpecBlocks())
      expect(
        planned.some((p) => p.source === b.source),
        b.source,
      ).toBe(true);
    expect(report.trials).toHaveLength(planned.length);
  });

  it('both sides know the same methods, share modes and task types, and the oneofs use the enum names', () => {
    expect(report.enums).toEqual({
      methods: [...METHODS],
      share_modes: [...SHARE_MODES],
      task_types: [...TASK_TYPES],
    });
    expect([...report.oneofs.method].sort()).toEqual([...METHODS].sort());
    expect([...report.oneofs.share].sort()).toEqual([...SHARE_MODES].sort());
    for (const m of METHODS) expect(Trial.fromJSON({ [m]: {} }).method?.$case).toBe(m);
    for (const s of SHARE_MODES) expect(BSLoraSettings.fromJSON({ [s]: {} }).share?.$case).toBe(s);
    for (const t of TASK_TYPES) expect(taskTypeName(taskTypeOf(t))).toBe(t);
  });

  it('both sides read the same method versions and defaults files', () => {
    expect(report.method_versions).toEqual(METHOD_VERSIONS);
    expect(report.defaults).toEqual(TRIAL_DEFAULTS);
  });

  it('the worker builds what the planner planned: method, version, ranks, share mode and size, alpha, dropout, warm-up', () => {
    planned.forEach(({ source, trial }, i) => {
      const read = report.trials[i]!.as_sent;
      const c = trialCoordinates(trial);
      const where = `${source} ${trial.name}`;
      const m = trial.method!;
      const settings = m.value as { loraAlpha?: number; loraDropout?: number };
      expect(read.name, where).toBe(trial.name);
      expect(read.method, where).toBe(c.method);
      expect(read.method_version, where).toBe(METHOD_VERSIONS[c.method]);
      expect(read.task_type, where).toBe(taskTypeName(trial.taskType));
      expect(read.seed, where).toBe(trial.seed);
      expect(read.warmup_steps, where).toBe(trial.training!.warmupSteps);
      expect(read.learning_rate, where).toBe(trial.training!.learningRate);
      const peft = read.peft;
      if (m.$case === 'base') {
        expect(peft, where).toBeNull();
        return;
      }
      expect(peft!.task_type, where).toBe(read.task_type.toUpperCase());
      // A peft entry may name its own modules; the planner writes them (or the spec's) into its config.
      const modules =
        m.$case === 'peft'
          ? (JSON.parse(m.value.configJson) as { target_modules: string[] }).target_modules
          : trial.targetModules;
      expect(peft!.target_modules, where).toEqual([...new Set(modules)].sort());
      if (m.$case === 'lora') {
        expect(peft, where).toMatchObject({
          type: 'LoraConfig',
          r: c.rank,
          lora_alpha: settings.loraAlpha,
          lora_dropout: settings.loraDropout,
        });
      } else if (m.$case === 'vera') {
        expect(peft, where).toMatchObject({ type: 'VeraConfig', r: c.rank, vera_dropout: settings.loraDropout });
      } else if (m.$case === 'peft') {
        // The worker builds the written config: every written field arrives, and its canonical form keeps them.
        const written = JSON.parse(m.value.configJson) as Record<string, unknown>;
        expect(peft!.peft_type, where).toBe(written.peft_type);
        const { target_modules: modules, ...rest } = written as { target_modules: string[] };
        // PEFT keeps target modules as a set: the canonical config lists them sorted.
        expect(JSON.parse(peft!.canonical as string), where).toMatchObject({
          ...rest,
          target_modules: [...modules].sort(),
        });
      } else {
        const r = c.ranks!;
        expect(peft, where).toMatchObject({
          type: 'BSLoraConfig',
          r_local: r.local,
          r_intra: r.intra,
          r_inter: r.inter,
          share_mode: c.shareMode,
          lora_alpha: settings.loraAlpha,
          lora_dropout: settings.loraDropout,
        });
        if (c.shareSize !== null) expect(peft![`${c.shareMode}_share_size`], where).toBe(c.shareSize);
      }
    });
  });

  it('each documented default arrives as documented, whether the planner fills it in or the worker does', () => {
    const doc = documentedDefaults();
    expect(Object.keys(doc).sort()).toEqual(
      Object.entries(TRIAL_DEFAULTS)
        .flatMap(([k, v]) =>
          typeof v === 'object' && !Array.isArray(v) ? Object.keys(v).map((f) => `${k}.${f}`) : [k],
        )
        .sort(),
    );
    const defaults = planned.map((p, i) => ({ ...p, read: report.trials[i]! })).filter((p) => p.source === 'defaults');
    expect(defaults.map((d) => d.trial.name)).toEqual([
      'base-s0',
      'lora-r8-s0',
      `vera-r${String(doc['grid.vera_ranks'])}-s0`,
      `bslora-${String(doc['grid.share_mode'])}-2/2/4-s0`,
    ]);
    expect((doc['grid.seeds'] as number[]).map((s) => `-s${s}`)).toEqual([
      ...new Set(defaults.map((d) => d.trial.name.replace(/^.*(-s\d+)$/, '$1'))),
    ]);
    for (const { trial, read } of defaults) {
      for (const r of [read.as_sent, read.unset]) {
        const where = `${trial.name} (${r === read.unset ? 'optional fields unset' : 'as planned'})`;
        expect(r.task_type, where).toBe(doc.task_type);
        for (const [path, value] of Object.entries(doc)) {
          // VeRA has no scale (its learned vectors take that part): adapter.scaling does not reach it.
          const applies =
            path.startsWith('training.') ||
            (path.startsWith('adapter.') &&
              r.method !== 'base' &&
              !(path === 'adapter.scaling' && r.method === 'vera'));
          if (applies) expect(r.settings[path], `${where} ${path}`).toEqual(value);
        }
        expect(r.warmup_steps, where).toBe(doc['training.warmup_steps']);
        if (r.method === 'base') continue;
        expect(r.lora_dropout, where).toBe(doc['adapter.lora_dropout']);
        if (r.method === 'lora')
          expect(r.peft!.lora_alpha, where).toBe((doc['lora.lora_alpha_per_rank'] as number) * r.rank);
        if (r.method === 'bslora') expect(r.peft!.lora_alpha, where).toBe(doc['bslora.lora_alpha']);
        if (r.method === 'vera') expect(r.rank, where).toBe(doc['grid.vera_ranks']);
      }
    }
  });

  it('a peft trial arrives as its entry: name, config and (until validated) no PEFT version', () => {
    const peft = planned.map((p, i) => ({ ...p, read: report.trials[i]! })).filter((p) => p.source === 'peft');
    expect(peft.map((p) => p.trial.name)).toEqual(['peft-lokr-r8-s0', 'peft-fourierft-s0', 'peft-vblora-s0']);
    expect(peft.map((p) => p.read.as_sent.peft!.type)).toEqual(['LoKrConfig', 'FourierFTConfig', 'VBLoRAConfig']);
    expect(peft[1]!.read.as_sent.peft!.target_modules).toEqual(['q_proj']);
    expect(peft[0]!.read.as_sent.peft).toMatchObject({ r: 8, target_modules: ['q_proj', 'v_proj'] });
  });

  it('warmup_steps: 0 means no warm-up: the first step runs at the peak learning rate', () => {
    const zero = planned
      .map((p, i) => ({ ...p, read: report.trials[i]! }))
      .filter((p) => p.source === 'warmup-0' && p.trial.method?.$case !== 'base');
    expect(zero.length).toBe(3);
    for (const { trial, read } of zero) {
      expect(trial.training!.warmupSteps).toBe(0);
      expect(read.as_sent.warmup_steps).toBe(0);
      expect(read.as_sent.first_step_lr, trial.name).toBe(trial.training!.learningRate);
      expect(read.as_sent.peft!.task_type).toBe('SEQ_CLS');
    }
  });
});
