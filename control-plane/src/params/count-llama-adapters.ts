/**
 * Trainable parameters of LoRA, VeRA and BSLoRA adapters on a Llama-shaped model of known size
 * (proto/model-shapes.json), computed from the shapes alone, as the worker's `CountParameters` computes them
 * (worker-py/src/bslora/plan.py `AdapterPlan.counts`, PEFT's LoRA and VeRA), without starting Python: `bslora
 * params` answers in well under a second for any size. Anything else (another architecture, seq_cls, target names
 * other than the seven Llama projections) returns null and is counted by a worker. A test checks both agree.
 */
import type { Trial } from '../gen/bslora_api/worker/v1/worker_service.js';
import { TRIAL_DEFAULTS } from '../sweep-specs/trial-defaults.js';
import { taskTypeName } from '../sweep-specs/trial-enums.js';
import { trialCoordinates } from '../sweep-specs/trial-coordinates.js';
import { firstLayerModule, knownShape, type LlamaShape, projections } from './model-shapes.js';

export interface CountedParams {
  local: number;
  intra: number;
  inter: number;
  transform: number;
  head: number;
  total: number;
  baseTotal: number;
}

function baseTotal(s: LlamaShape): number {
  const kv = s.kv_heads * (s.hidden / s.heads);
  const layer = 2 * s.hidden * s.hidden + 2 * s.hidden * kv + 3 * s.hidden * s.intermediate + 2 * s.hidden;
  return s.vocab * s.hidden * (s.tied ? 1 : 2) + s.layers * layer + s.hidden;
}

/** The divisors of n, ascending (for the message naming valid kron share sizes). */
function divisors(n: number): number[] {
  const out: number[] = [];
  for (let d = 1; d <= n; d++) if (n % d === 0) out.push(d);
  return out;
}

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

/** Why the worker would refuse the trial, in its words (INVALID_ARGUMENT), as thrown by {@link countLlamaAdapter}. */
export class AdapterDoesNotFit extends Error {}

/**
 * The counts, or null when this model or these targets are not covered here (ask a worker). Throws
 * {@link AdapterDoesNotFit} for a kron share size that does not divide every adapted dimension.
 */
export function countLlamaAdapter(trial: Trial): CountedParams | null {
  const shape = knownShape(trial.baseModel);
  const taskType = taskTypeName(trial.taskType) ?? TRIAL_DEFAULTS.task_type;
  if (!shape || taskType !== 'causal_lm' || shape.hidden % shape.heads !== 0) return null;
  const plan = { ...trialCoordinates(trial), baseModel: trial.baseModel, targetModules: trial.targetModules };
  const zero = { local: 0, intra: 0, inter: 0, transform: 0, head: 0, total: 0, baseTotal: baseTotal(shape) };
  if (plan.method === 'base') return zero;
  const proj = projections(shape);
  if (plan.targetModules.length === 0 || !plan.targetModules.every((m) => Object.hasOwn(proj, m))) return null;
  // In model order (attention, then MLP), as the worker walks the modules.
  const names = Object.keys(proj).filter((m) => plan.targetModules.includes(m));
  const perLayer = names.map((m) => proj[m]!);
  const targets = Array.from({ length: shape.layers }, () => perLayer).flat();
  const sumInOut = targets.reduce((s, [i, o]) => s + i + o, 0);

  if (plan.method === 'lora') return { ...zero, local: plan.rank! * sumInOut, total: plan.rank! * sumInOut };
  if (plan.method === 'vera') {
    const local = targets.reduce((s, [, o]) => s + o + plan.rank!, 0);
    return { ...zero, local, total: local };
  }
  if (plan.method !== 'bslora' || !plan.ranks) return null;

  const { local: rLocal, intra: rIntra, inter: rInter } = plan.ranks;
  let shareIn: number;
  let shareOut: number;
  if (plan.shareMode === 'gate') {
    shareIn = shareOut = plan.shareSize!;
  } else if (plan.shareMode === 'kron') {
    const size = plan.shareSize!;
    shareIn = shareOut = size;
    if (rIntra || rInter) {
      const bad = targets.filter(([i, o]) => i % size || o % size);
      if (bad.length) {
        const name = names.find((m) => proj[m]![0] % size || proj[m]![1] % size)!;
        const [i, o] = proj[name]!;
        const module = firstLayerModule(name);
        const common = targets.flat().reduce(gcd);
        throw new AdapterDoesNotFit(
          `adapter does not fit ${plan.baseModel}: BSLoraConfig.kron_share_size=${size} does not divide the shape of module ` +
            `'${module}' ` +
            `(in_features=${i}, out_features=${o})${bad.length > 1 ? ` nor ${bad.length - 1} other module(s)` : ''}. Kronecker extension tiles an S×S pair, ` +
            `so S must divide every adapted dimension. Valid kron_share_size values for these modules: [${divisors(common).join(', ')}]. ` +
            "Alternatively use share_mode='slice' or 'gate', or exclude the module.",
        );
      }
    }
  } else {
    shareIn = Math.max(...targets.map(([i]) => i));
    shareOut = Math.max(...targets.map(([, o]) => o));
  }
  const shared = [rIntra, rInter].filter((r) => r > 0).length;
  const transformPerTarget = ([i, o]: [number, number]) =>
    plan.shareMode === 'gate'
      ? i + shareIn + shareOut + o
      : plan.shareMode === 'kron'
        ? i / shareIn + o / shareOut
        : 0;
  const local = rLocal * sumInOut;
  const intra = shape.layers * rIntra * (shareIn + shareOut);
  const inter = rInter * (shareIn + shareOut);
  const transform = shared * targets.reduce((s, t) => s + transformPerTarget(t), 0);
  return { ...zero, local, intra, inter, transform, total: local + intra + inter + transform };
}
