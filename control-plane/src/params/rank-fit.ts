/**
 * The largest useful LoRA rank (or BSLoRA local rank) for a known model and its target modules: the smallest
 * dimension of any targeted projection. A larger rank adds parameters that cannot raise the update's rank, and a
 * rank of 10⁹ asks a worker for terabytes, so the spec is refused at submit. The worker applies the same rule to
 * models it alone knows (worker-py/src/bslora_worker/trials/rank_fit.py), in the same words.
 */
import { firstLayerModule, knownShape, projections } from './model-shapes.js';

export interface RankLimit {
  /** The largest useful rank. */
  max: number;
  /** The projection that sets it, and its (in, out). */
  module: string;
  fanIn: number;
  fanOut: number;
}

/** The limit, or null for a model not in proto/model-shapes.json or targets that are not its projections. */
export function rankLimit(baseModel: string, targetModules: readonly string[]): RankLimit | null {
  const shape = knownShape(baseModel);
  if (!shape || shape.hidden % shape.heads !== 0) return null;
  const proj = projections(shape);
  if (targetModules.length === 0 || !targetModules.every((m) => Object.hasOwn(proj, m))) return null;
  let limit: RankLimit | null = null;
  for (const name of Object.keys(proj).filter((m) => targetModules.includes(m))) {
    const [fanIn, fanOut] = proj[name]!;
    const max = Math.min(fanIn, fanOut);
    if (!limit || max < limit.max) limit = { max, module: firstLayerModule(name), fanIn, fanOut };
  }
  return limit;
}

/** Why a rank does not fit, in the worker's words, or null when it fits (or the model is not known here). */
export function rankDoesNotFit(
  what: 'lora rank' | 'bslora local rank',
  rank: number,
  baseModel: string,
  limit: RankLimit | null,
): string | null {
  if (!limit || rank <= limit.max) return null;
  return `${what} ${rank} is larger than module ${limit.module} of ${baseModel} (${limit.fanIn} x ${limit.fanOut}) allows; use at most ${limit.max}`;
}
