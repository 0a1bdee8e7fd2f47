/**
 * How a trial is stored and served: the proto JSON of `Trial` (`Trial.toJSON`). Rows written before the proto
 * contract (key formats 1 and 2) hold the earlier plan shape (`method: "lora"`, `shareMode`, …); they are read into
 * a `Trial` so that old sweeps still show, but their keys never equal a current key, so nothing is reused from them.
 */
import { Trial } from '../gen/bslora_api/worker/v1/worker_service.js';

/** The stored text of a trial. */
export function trialToJson(trial: Trial): string {
  return JSON.stringify(Trial.toJSON(trial));
}

type LegacyPlan = Record<string, unknown> & {
  method: string;
  rank: number | null;
  ranks: { local: number; intra: number; inter: number } | null;
  shareMode: string | null;
  kronShareSize: number | null;
  gateShareSize: number | null;
  loraAlpha: number | null;
  loraDropout: number;
  taskType: string;
  training: Record<string, unknown> & { steps: number; epochs: number | null };
};

/** The proto JSON of a plan stored in the earlier shape. */
function fromLegacy(p: LegacyPlan): unknown {
  const dropout = { loraDropout: p.loraDropout };
  const alpha = p.loraAlpha !== null ? { loraAlpha: p.loraAlpha } : {};
  const share =
    p.shareMode === 'kron'
      ? { kron: { shareSize: p.kronShareSize } }
      : p.shareMode === 'gate'
        ? { gate: { shareSize: p.gateShareSize } }
        : { slice: {} };
  const method =
    p.method === 'bslora'
      ? { bslora: { ranks: p.ranks, ...share, ...alpha, ...dropout } }
      : p.method === 'lora'
        ? { lora: { rank: p.rank, ...alpha, ...dropout } }
        : p.method === 'vera'
          ? { vera: { rank: p.rank, ...dropout } }
          : { base: {} };
  const { steps, epochs, evalLimit, checkpointEvery, ...training } = p.training;
  return {
    ...p,
    ...method,
    taskType: `TASK_TYPE_${p.taskType.toUpperCase()}`,
    training: {
      ...training,
      ...(epochs !== null ? { epochs } : { steps }),
      ...(evalLimit !== null ? { evalLimit } : {}),
      ...(checkpointEvery !== null ? { checkpointEvery } : {}),
    },
  };
}

/** A stored trial, in either shape. */
export function trialFromJson(text: string): Trial {
  const json = JSON.parse(text) as Record<string, unknown>;
  return Trial.fromJSON(typeof json.method === 'string' ? fromLegacy(json as LegacyPlan) : json);
}
