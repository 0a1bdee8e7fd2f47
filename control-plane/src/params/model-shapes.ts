/**
 * The architecture sizes of Llama-shaped models that are known without the hub (proto/model-shapes.json, which the
 * worker reads too), and the (in, out) of each projection a target name adapts. Parameter counting and the rank
 * check at submit both work from these.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface LlamaShape {
  hidden: number;
  intermediate: number;
  layers: number;
  heads: number;
  kv_heads: number;
  vocab: number;
  tied: boolean;
}

const SHAPES_PATH = fileURLToPath(new URL('../../../proto/model-shapes.json', import.meta.url));
const SHAPES = (JSON.parse(readFileSync(SHAPES_PATH, 'utf8')) as { models: Record<string, LlamaShape> }).models;

/** The shape of a known model, or null (any other model is only known to a worker). */
export function knownShape(baseModel: string): LlamaShape | null {
  return Object.hasOwn(SHAPES, baseModel) ? SHAPES[baseModel]! : null;
}

/** (in, out) of each projection a target name can adapt, in one decoder layer, in model order. */
export function projections(s: LlamaShape): Record<string, [number, number]> {
  const kv = s.kv_heads * (s.hidden / s.heads);
  return {
    q_proj: [s.hidden, s.hidden],
    k_proj: [s.hidden, kv],
    v_proj: [s.hidden, kv],
    o_proj: [s.hidden, s.hidden],
    gate_proj: [s.hidden, s.intermediate],
    up_proj: [s.hidden, s.intermediate],
    down_proj: [s.intermediate, s.hidden],
  };
}

/** The module path of a projection in the first decoder layer, as PEFT and the worker name it. */
export function firstLayerModule(name: string): string {
  return `model.layers.0.${['gate_proj', 'up_proj', 'down_proj'].includes(name) ? 'mlp' : 'self_attn'}.${name}`;
}
