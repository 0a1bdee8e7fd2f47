/** A tiny sweep spec (LoRA r=8 against one BSLoRA slice trial, 3 steps on builtin:tiny-llama), as YAML text. */
export interface TinySpecOptions {
  name?: string;
  description?: string;
  steps?: number;
  /** Distinguishes otherwise equal specs (a different seed is a different trial key). */
  seed?: number;
  notify?: { url: string; secret_env?: string; events?: string[] }[];
  expect?: Record<string, unknown>[];
}

export function tinySpecYaml(o: TinySpecOptions = {}): string {
  const lines = [
    `name: ${o.name ?? 'tiny'}`,
    ...(o.description !== undefined ? [`description: ${JSON.stringify(o.description)}`] : []),
    'base_model: builtin:tiny-llama',
    'train_data: builtin:arith',
    'eval_tasks: [builtin:arith]',
    'target_modules: [q_proj, v_proj]',
    `training: {steps: ${o.steps ?? 3}, learning_rate: 0.003, batch_size: 4, seq_len: 64, seed: ${o.seed ?? 0}, eval_limit: 16}`,
    'grid:',
    '  method: [lora, bslora]',
    '  lora_ranks: [8]',
    '  share_mode: slice',
    '  ranks: [{local: 2, intra: 2, inter: 4}]',
  ];
  if (o.notify) lines.push(`notify: ${JSON.stringify(o.notify)}`);
  if (o.expect) lines.push(`expect: ${JSON.stringify(o.expect)}`);
  return `${lines.join('\n')}\n`;
}

export const DRY_RUN_RANKS = [
  { local: 2, intra: 2, inter: 4 },
  { local: 4, intra: 2, inter: 2 },
  { local: 2, intra: 4, inter: 2 },
  { local: 1, intra: 1, inter: 6 },
];

/**
 * A BSLoRA sweep for dry-run workers (which answer at once without a model), as JSON text: one trial per rank
 * triple and seed, one step each on builtin:tiny-llama.
 */
export function dryRunSpecJson(name: string, ranks: readonly object[], seeds: readonly number[]): string {
  return JSON.stringify({
    name,
    base_model: 'builtin:tiny-llama',
    train_data: 'builtin:arith',
    eval_tasks: ['builtin:arith'],
    target_modules: ['q_proj', 'v_proj'],
    training: { steps: 1, learning_rate: 0.001, batch_size: 2, seq_len: 32, eval_limit: 1 },
    grid: { method: ['bslora'], ranks, seeds },
  });
}
