/**
 * How many trials a spec can expand to, computed from the lengths of its axes alone, so that a spec of 2,000 ×
 * 2,000 values is refused before a single trial (or rank triple) is built. The bound counts duplicates that the
 * expansion later drops, so it is never below the real count; it also bounds the work of expanding (rank
 * candidates are counted even for blocks that yield no trial).
 */
import type { SweepSpec } from './sweep-spec.js';

function len(value: unknown): number {
  if (value === undefined) return 0;
  return Array.isArray(value) ? value.length : 1;
}

type Block = Partial<
  Record<
    'share_mode' | 'kron_share_size' | 'gate_share_size' | 'ranks' | 'total_rank' | 'sharing_ratio' | 'intra_fraction',
    unknown
  >
>;

function rankCandidates(source: Block): number {
  return len(source.ranks) + len(source.total_rank) * len(source.sharing_ratio) * len(source.intra_fraction);
}

function blockBound(grid: Block, block: Block | null): number {
  const pick = (key: keyof Block) => (block && block[key] !== undefined ? block[key] : grid[key]);
  const modes = (
    Array.isArray(pick('share_mode')) ? pick('share_mode') : [pick('share_mode') ?? 'slice']
  ) as unknown[];
  let settings = 0;
  for (const mode of new Set(modes)) {
    settings +=
      mode === 'kron'
        ? Math.max(1, len(pick('kron_share_size')))
        : mode === 'gate'
          ? Math.max(1, len(pick('gate_share_size')))
          : 1;
  }
  const rankKeys = ['ranks', 'total_rank', 'sharing_ratio', 'intra_fraction'] as const;
  const source = block && rankKeys.some((k) => block[k] !== undefined) ? block : grid;
  return Math.max(1, settings) * Math.max(1, rankCandidates(source));
}

/**
 * An upper bound of the trials (and of the configurations examined) that `spec` expands to. Works on any data
 * that passed the structural checks; never builds a trial.
 */
export function trialCountUpperBound(spec: Pick<SweepSpec, 'grid' | 'training'>): number {
  const grid = spec.grid;
  const seeds = Math.max(1, len(grid.seeds), len(spec.training.seeds));
  const methods = new Set((Array.isArray(grid.method) ? grid.method : [grid.method]) as string[]);
  let perSeed = 0;
  if (methods.has('base')) perSeed += 1;
  if (methods.has('lora')) perSeed += Math.max(1, len(grid.lora_ranks));
  if (methods.has('vera')) perSeed += Math.max(1, len(grid.vera_ranks));
  if (methods.has('bslora')) {
    const blocks = grid.paired
      ? grid.paired.map((b) => blockBound(grid as Block, b as Block))
      : [blockBound(grid as Block, null)];
    for (const b of blocks) perSeed += b;
  }
  return seeds * perSeed;
}
