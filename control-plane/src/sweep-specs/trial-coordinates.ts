/**
 * The grid coordinates of a trial (method, rank or rank triple, share mode and its size, seed): what tells the
 * trials of one sweep apart, read off the proto `Trial` for tables, selectors and the REST API's `config`.
 */
import type { Trial } from '../gen/bslora_api/worker/v1/worker_service.js';
import type { RankTriple } from './rank-expansion.js';
import type { MethodName, ShareModeName } from './trial-enums.js';

export interface TrialCoordinates {
  method: MethodName;
  /** LoRA / VeRA rank; `null` for bslora and base. */
  rank: number | null;
  /** BSLoRA rank triple; `null` for other methods. */
  ranks: RankTriple | null;
  /** BSLoRA share mode; `null` for other methods. */
  shareMode: ShareModeName | null;
  /** Side of the shared pairs of a gate or kron trial; `null` otherwise. */
  shareSize: number | null;
  /** Name of the `grid.peft` entry of a peft trial; `null` otherwise. */
  peftName: string | null;
  seed: number;
}

/** The coordinates of a trial. Throws on a trial without a method (never planned so). */
export function trialCoordinates(trial: Trial): TrialCoordinates {
  const m = trial.method;
  if (!m) throw new TypeError(`trial ${trial.name} has no method`);
  const base = {
    method: m.$case,
    rank: null,
    ranks: null,
    shareMode: null,
    shareSize: null,
    peftName: null,
    seed: trial.seed,
  };
  switch (m.$case) {
    case 'lora':
    case 'vera':
      return { ...base, rank: m.value.rank };
    case 'base':
      return base;
    case 'peft':
      return { ...base, peftName: m.value.name };
    case 'bslora': {
      const r = m.value.ranks ?? { local: 0, intra: 0, inter: 0 };
      const share = m.value.share;
      return {
        ...base,
        ranks: { local: r.local, intra: r.intra, inter: r.inter },
        shareMode: share?.$case ?? null,
        shareSize: share && share.$case !== 'slice' ? share.value.shareSize : null,
      };
    }
  }
}
