/**
 * Reads a stored trial's method and rank, for the tests and benchmarks that give dry-run trials made-up parameter
 * counts and accuracies. It goes through the store's own reader, so it follows the stored shape when that changes
 * (a hand-written reading of `plan_json` silently found no ranks after the trial contract changed the shape).
 */
import type { Store } from '../../control-plane/src/store/store.js';
import { trialFromJson } from '../../control-plane/src/store/trial-json.js';

export interface StoredTrialRank {
  isLora: boolean;
  /** LoRA's rank, or BSLoRA's ranks weighted local + intra/2 + inter/4 (the order of their parameter cost). */
  rank: number;
}

export function storedTrialRank(store: Store, trialKey: string): StoredTrialRank | null {
  const row = store.db.prepare('SELECT plan_json FROM trials WHERE trial_key = ?').get(trialKey) as
    | { plan_json: string }
    | undefined;
  if (!row) return null;
  const method = trialFromJson(row.plan_json).method;
  if (method?.$case === 'lora') return { isLora: true, rank: method.value.rank ?? 8 };
  if (method?.$case === 'bslora' && method.value.ranks) {
    const { local, intra, inter } = method.value.ranks;
    return { isLora: false, rank: local + intra / 2 + inter / 4 };
  }
  throw new Error(`trial ${trialKey} is ${method?.$case ?? 'without a method'}: only lora and bslora are expected`);
}
