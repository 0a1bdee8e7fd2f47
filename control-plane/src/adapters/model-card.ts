/**
 * The model card `bslora adapter get` writes next to an adapter (README.md, in the Hugging Face card format: YAML
 * front matter, then Markdown), and the same facts as JSON (bslora-trial.json) for programs: the base model's
 * identity, the trial's whole configuration, its parameter counts, its metrics per eval task, the sweep it came
 * from, and the library versions it was trained with.
 */
import { builtinVersion } from '../sweep-specs/builtin-resources.js';
import { classifyRef, taskTypeName, Trial, TRIAL_DEFAULTS } from '../sweep-specs/index.js';

export interface CardInput {
  sweep: { id: string; name: string; apiUrl: string };
  trial: {
    trialKey: string;
    name: string;
    method: string;
    /** The trial as planned: the proto `Trial` in its JSON form (`Trial.toJSON`). */
    plan: Record<string, unknown>;
    /** Its grid coordinates (the results endpoint's `config`: rank or ranks, share mode and size, seed). */
    config: Record<string, unknown>;
    result: {
      counts: Record<string, number>;
      initialLoss: number | null;
      finalLoss: number | null;
      metrics: Record<string, { acc: number; accNorm: number; n: number }> | null;
      meanAcc: number | null;
      adapterSha256: string | null;
      train: Record<string, unknown>;
      recordedAt?: string;
    };
  };
  /** The PEFT adapter config from the archive (adapter_config.json). */
  adapterConfig: Record<string, unknown>;
}

/** What identifies the base model: the ref as the sweep named it, and what the trial key hashed for it. */
export function baseModelIdentity(ref: string): Record<string, unknown> {
  const kind = classifyRef(ref);
  if (kind === 'builtin') return { ref, kind, version: builtinVersion(ref) };
  return {
    ref,
    kind,
    ...(kind === 'local'
      ? { note: 'the trial key holds the sha256 of these files as they were when the sweep was submitted' }
      : {}),
  };
}

export function cardFacts(input: CardInput): Record<string, unknown> {
  const { trial, sweep } = input;
  const train = trial.result.train;
  return {
    format: 'bslora-trial/1',
    trial: { key: trial.trialKey, name: trial.name, method: trial.method },
    baseModel: baseModelIdentity(String(trial.plan.baseModel)),
    coordinates: trial.config,
    configuration: trial.plan,
    parameters: trial.result.counts,
    metrics: trial.result.metrics,
    meanAcc: trial.result.meanAcc,
    loss: { initial: trial.result.initialLoss, final: trial.result.finalLoss },
    sweep,
    adapterSha256: trial.result.adapterSha256,
    training: {
      device: train.device ?? null,
      steps: train.steps ?? null,
      wallSeconds: train.wallSeconds ?? null,
      peakMemoryBytes: train.peakMemoryBytes ?? null,
      recordedAt: trial.result.recordedAt ?? null,
    },
    versions: train.versions ?? {},
    peftType: input.adapterConfig.peft_type ?? null,
  };
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const int = (n: unknown) => (typeof n === 'number' ? n.toLocaleString('en-US') : '-');
const code = (s: unknown) => `\`${String(s).replace(/`/g, "'")}\``;
/** Strings from the sweep go into Markdown table cells and YAML: keep them on one line and free of the delimiters. */
const cell = (s: unknown) => String(s).replace(/[\r\n|]/g, ' ');

export function renderModelCard(input: CardInput): string {
  const facts = cardFacts(input);
  const { trial, sweep } = input;
  const plan = trial.plan;
  const taskType = taskTypeName(Trial.fromJSON(plan).taskType) ?? TRIAL_DEFAULTS.task_type;
  const base = facts.baseModel as Record<string, unknown>;
  const versions = facts.versions as Record<string, string>;
  const isBslora = trial.method === 'bslora';
  const metrics = Object.entries(trial.result.metrics ?? {});
  const lines = [
    '---',
    'library_name: peft',
    `base_model: ${JSON.stringify(String(plan.baseModel))}`,
    `tags: [${['peft', trial.method, 'bslora-sweep'].map((t) => JSON.stringify(t)).join(', ')}]`,
    '---',
    '',
    `# ${cell(trial.name)}`,
    '',
    `A ${isBslora ? `BSLoRA (${cell(trial.config.shareMode)})` : trial.method.toUpperCase()} adapter for ${code(plan.baseModel)}, trained by bslora in sweep ${code(sweep.id)} (${cell(sweep.name)}).`,
    '',
    '## Load it',
    '',
    '```python',
    ...(isBslora ? ['import bslora  # registers the BSLoRA method with PEFT (pip install -e worker-py)'] : []),
    'from peft import PeftModel',
    '',
    ...(String(plan.baseModel).startsWith('builtin:')
      ? [
          "from bslora_worker.models import load_base_model  # the worker's loader (worker-py); builtins are built offline",
          '',
          `base_model = load_base_model(${JSON.stringify(String(plan.baseModel))}, ${JSON.stringify(taskType)}).model`,
        ]
      : [`base_model = ...  # ${cell(plan.baseModel)}, loaded with transformers`]),
    'model = PeftModel.from_pretrained(base_model, "path/to/this/directory")',
    '```',
    '',
    '## Base model',
    '',
    '| | |',
    '| --- | --- |',
    ...Object.entries(base).map(([k, v]) => `| ${k} | ${code(v)} |`),
    '',
    '## Configuration',
    '',
    '| setting | value |',
    '| --- | --- |',
    ...Object.entries(trial.config).map(([k, v]) => `| ${k} | ${code(JSON.stringify(v))} |`),
    ...Object.entries(plan)
      .filter(([k]) => k !== 'training' && k !== 'trialKey' && k !== 'name')
      .map(([k, v]) => `| ${k} | ${code(JSON.stringify(v))} |`),
    ...Object.entries((plan.training ?? {}) as Record<string, unknown>).map(
      ([k, v]) => `| training.${k} | ${code(JSON.stringify(v))} |`,
    ),
    '',
    '## Parameters',
    '',
    '| part | trainable parameters |',
    '| --- | ---: |',
    ...Object.entries(trial.result.counts).map(([k, v]) => `| ${k} | ${int(v)} |`),
    '',
    '## Metrics',
    '',
    '| eval task | acc | acc_norm | n |',
    '| --- | ---: | ---: | ---: |',
    ...metrics.map(([task, m]) => `| ${code(task)} | ${pct(m.acc)} | ${pct(m.accNorm)} | ${m.n} |`),
    ...(trial.result.meanAcc !== null ? [`| mean | ${pct(trial.result.meanAcc)} | | |`] : []),
    '',
    `Training loss: ${trial.result.initialLoss?.toFixed(4) ?? '-'} (first step) → ${trial.result.finalLoss?.toFixed(4) ?? '-'} (mean of the last steps).`,
    '',
    '## Provenance',
    '',
    `- sweep: ${code(sweep.id)} (${cell(sweep.name)}), control plane ${code(sweep.apiUrl)}`,
    `- trial key: ${code(trial.trialKey)}`,
    `- adapter archive sha256: ${code(trial.result.adapterSha256)}`,
    `- trained on: ${code((facts.training as Record<string, unknown>).device)}`,
    `- versions: ${
      Object.entries(versions)
        .map(([k, v]) => `${k} ${cell(v)}`)
        .join(', ') || '-'
    }`,
    '',
    'The same facts as JSON: `bslora-trial.json`.',
    '',
  ];
  return lines.join('\n');
}
