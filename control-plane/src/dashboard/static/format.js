// @ts-check
/** Labels, colours and number formats shared by the chart, the table and the tooltip. */
import { UNFINISHED_STATUSES } from './statuses.js';

/**
 * @typedef {{ local: number, intra: number, inter: number }} RankTriple
 * @typedef {{
 *   trialKey: string, name: string, method: string, ranks: RankTriple | null, rank: number | null,
 *   shareMode: string | null, kronShareSize: number | null, gateShareSize: number | null, peftName: string | null,
 *   loraAlpha: number | null, loraDropout: number, baseModel: string, trainData: string,
 *   evalTasks: string[], targetModules: string[], seed: number, methodVersion: string,
 *   training: { steps: number, epochs: number | null, learningRate: number, batchSize: number, seqLen: number,
 *     warmupSteps: number }
 * }} TrialFacts
 * @typedef {{ acc: number, accNorm: number, n: number }} TaskMetric
 * @typedef {{ counts: Record<string, number>, initialLoss: number | null, finalLoss: number | null,
 *   metrics: Record<string, TaskMetric> | null, meanAcc: number | null }} TrialResult
 * @typedef {{ phase?: string, step?: number, totalSteps?: number, loss?: number | null, etaSeconds?: number | null,
 *   task?: string }} TrialProgress
 * @typedef {{ rank: number | null, ranks: RankTriple | null, shareMode: string | null, kronShareSize: number | null,
 *   gateShareSize: number | null, peftName?: string | null, seed: number }} TrialConfig
 * @typedef {{ plan: TrialFacts | null, result: TrialResult | null }} TrialDetail
 * @typedef {{
 *   trialKey: string, name: string, method: string, scale: number | null, status: string, trainable: number | null,
 *   finalLoss: number | null, meanAcc: number | null, loraShare: number | null, accDelta: number | null,
 *   onFront: boolean, config: TrialConfig, accuracy: Record<string, number | null>,
 *   footprint: Record<string, number | null>, progress: TrialProgress | null,
 *   reused: boolean, lastError: string | null, group: string
 * }} Trial
 *
 * A trial as the page holds it: its row of the results table (GET …/results?format=columns, then live events).
 * Its plan and whole result (`TrialDetail`) are loaded when it is hovered.
 */

/** @typedef {{ label: string, color: string, symbol: string, size: number, order: number }} GroupStyle */

/**
 * What the views show of a trial: its proto JSON (GET …/results?include=plan) read with the row's method and grid
 * coordinates (`config`), which the server derives from the same trial. The method's settings are under the
 * method's name (`{"lora": {"rank": 8, …}}`); proto JSON leaves out fields at their zero value.
 * @param {any} json
 * @param {string} method
 * @param {any} config
 * @returns {TrialFacts}
 */
export function trialFacts(json, method, config) {
  const settings = json[method] ?? {};
  const shareMode = config?.shareMode ?? null;
  const t = json.training ?? {};
  return {
    trialKey: String(json.trialKey ?? ''),
    name: String(json.name ?? ''),
    method,
    ranks: config?.ranks ?? null,
    rank: config?.rank ?? null,
    shareMode,
    kronShareSize: config?.kronShareSize ?? null,
    gateShareSize: config?.gateShareSize ?? null,
    peftName: config?.peftName ?? null,
    loraAlpha: settings.loraAlpha ?? null,
    loraDropout: settings.loraDropout ?? 0,
    baseModel: String(json.baseModel ?? ''),
    trainData: String(json.trainData ?? ''),
    evalTasks: json.evalTasks ?? [],
    targetModules: json.targetModules ?? [],
    seed: json.seed ?? 0,
    methodVersion: String(json.methodVersion ?? ''),
    training: {
      steps: t.steps ?? 0,
      epochs: t.epochs ?? null,
      learningRate: t.learningRate ?? 0,
      batchSize: t.batchSize ?? 0,
      seqLen: t.seqLen ?? 0,
      warmupSteps: t.warmupSteps ?? 0,
    },
  };
}

/** @type {Record<string, GroupStyle>} */
const GROUPS = {
  lora: { label: 'LoRA (baseline)', color: '#0f172a', symbol: 'diamond', size: 17, order: 0 },
  'bslora-slice': { label: 'BSLoRA slice', color: '#2563eb', symbol: 'circle', size: 12, order: 1 },
  'bslora-gate': { label: 'BSLoRA gate', color: '#059669', symbol: 'rect', size: 11, order: 2 },
  'bslora-kron': { label: 'BSLoRA kron', color: '#d97706', symbol: 'triangle', size: 13, order: 3 },
  vera: { label: 'VeRA', color: '#9333ea', symbol: 'emptyCircle', size: 12, order: 4 },
  base: { label: 'base model (untuned)', color: '#64748b', symbol: 'circle', size: 10, order: 5 },
};
const EXTRA_COLORS = ['#0891b2', '#db2777', '#65a30d', '#7c3aed', '#b45309'];

export const FRONT_COLOR = '#dc2626';

/**
 * Method and transformation of a trial: `lora`, `bslora-slice`, `bslora-gate`, `bslora-kron`, `vera`, `base`, or
 * `peft:<entry name>` (each `grid.peft` entry is its own group, with the next spare colour).
 * @param {string} method
 * @param {{ shareMode: string | null, peftName?: string | null } | null} plan - the plan, or the trial's config
 */
export function groupOf(method, plan) {
  if (method === 'bslora') return `bslora-${plan?.shareMode ?? 'slice'}`;
  if (method === 'peft' && plan?.peftName) return `peft:${plan.peftName}`;
  return method;
}

/** @type {Map<string, GroupStyle>} */
const extraGroups = new Map();

/**
 * Colour, symbol and label of a group; unknown groups get the next spare colour.
 * @param {string} group
 * @returns {GroupStyle}
 */
export function groupStyle(group) {
  if (Object.hasOwn(GROUPS, group)) return GROUPS[group];
  let style = extraGroups.get(group);
  if (!style) {
    style = {
      label: group,
      color: EXTRA_COLORS[extraGroups.size % EXTRA_COLORS.length],
      symbol: 'circle',
      size: 12,
      order: 10 + extraGroups.size,
    };
    extraGroups.set(group, style);
  }
  return style;
}

/** @param {number | null | undefined} n */
export function fmtCount(n) {
  if (n === null || n === undefined || !Number.isFinite(n)) return '—';
  const abs = Math.abs(n);
  /** @param {number} v @param {string} unit */
  const short = (v, unit) => `${Number(v.toPrecision(3))}${unit}`;
  if (abs >= 1e9) return short(n / 1e9, 'B');
  if (abs >= 1e6) return short(n / 1e6, 'M');
  if (abs >= 1e3) return short(n / 1e3, 'k');
  return String(n);
}

/** @param {number | null | undefined} n */
export function fmtInt(n) {
  return n === null || n === undefined || !Number.isFinite(n) ? '—' : Math.round(n).toLocaleString('en-US');
}

/** Accuracy (a fraction) as a percentage. @param {number | null | undefined} x */
export function fmtAcc(x) {
  return x === null || x === undefined || !Number.isFinite(x) ? '—' : `${(x * 100).toFixed(1)}%`;
}

/** Accuracy difference (fractions) in signed points. @param {number | null | undefined} x */
export function fmtDelta(x) {
  if (x === null || x === undefined || !Number.isFinite(x)) return '—';
  const pts = x * 100;
  return `${pts > 0 ? '+' : pts < 0 ? '−' : '±'}${Math.abs(pts).toFixed(1)} pts`;
}

/** A fraction of the LoRA baseline's parameters. @param {number | null | undefined} x */
export function fmtShare(x) {
  if (x === null || x === undefined || !Number.isFinite(x)) return '—';
  const pct = x * 100;
  return `${pct < 10 ? pct.toFixed(1) : pct.toFixed(0)}%`;
}

/** @param {number | null | undefined} x */
export function fmtLoss(x) {
  return x === null || x === undefined || !Number.isFinite(x) ? '—' : x.toFixed(3);
}

/** @param {string | null | undefined} iso */
export function fmtTime(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  const pad = (/** @type {number} */ v) => String(v).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** @param {number} seconds */
export function fmtDuration(seconds) {
  if (!Number.isFinite(seconds) || seconds < 0) return '—';
  if (seconds < 60) return `${Math.round(seconds)} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(seconds / 3600)} h ${Math.round((seconds % 3600) / 60)} min`;
}

/** File names that say nothing about the task; the folder names it instead. */
const GENERIC_FILES = new Set(['test', 'train', 'dev', 'valid', 'validation', 'eval', 'data']);

/**
 * A short column label for an eval task: `builtin:arith` → `arith`, `/data/boolq/test.json#llm-adapters` →
 * `boolq`, `/data/piqa.jsonl` → `piqa`, `hub:org/name@rev` → `name`.
 * @param {string} task
 */
export function taskLabel(task) {
  const noStyle = task.replace(/#[^/]*$/, '');
  if (noStyle.startsWith('builtin:')) return noStyle.slice('builtin:'.length);
  const parts = noStyle
    .replace(/^(hub:|file:)/, '')
    .replace(/@[^/]*$/, '')
    .split('/')
    .filter(Boolean);
  if (parts.length === 0) return task;
  const last = parts[parts.length - 1];
  const stem = last.replace(/\.[a-z0-9]+$/i, '');
  if (stem !== last && GENERIC_FILES.has(stem.toLowerCase()) && parts.length >= 2) return parts[parts.length - 2];
  return stem || last;
}

/**
 * Ranks as written in trial names: `2/2/4` (local/intra/inter) or `r8`. @param {{ rank: number | null, ranks:
 * RankTriple | null } | null} plan
 */
export function ranksLabel(plan) {
  if (!plan) return '—';
  if (plan.ranks) return `${plan.ranks.local}/${plan.ranks.intra}/${plan.ranks.inter}`;
  if (plan.rank !== null && plan.rank !== undefined) return `r${plan.rank}`;
  return '—';
}

/**
 * `slice`, `gate 1024`, `kron 16`, or `—`.
 * @param {{ shareMode: string | null, kronShareSize: number | null, gateShareSize: number | null } | null} plan
 */
export function shareLabel(plan) {
  if (!plan?.shareMode) return '—';
  if (plan.shareMode === 'kron') return `kron ${plan.kronShareSize ?? '?'}`;
  if (plan.shareMode === 'gate') return `gate ${plan.gateShareSize ?? '?'}`;
  return plan.shareMode;
}

/** @param {TrialFacts | null} plan */
export function trainingLabel(plan) {
  if (!plan) return '—';
  const t = plan.training;
  return t.epochs ? `${t.epochs} epoch${t.epochs === 1 ? '' : 's'}` : `${t.steps} steps`;
}

/** Progress of a running trial as text: `train 12/30 · loss 1.234`. @param {TrialProgress | null} p */
export function progressLabel(p) {
  if (!p) return '';
  const parts = [];
  if (p.phase) parts.push(p.phase);
  if (p.step !== undefined && p.totalSteps) parts.push(`${p.step}/${p.totalSteps}`);
  let text = parts.join(' ');
  if (p.loss !== null && p.loss !== undefined && Number.isFinite(p.loss)) text += ` · loss ${p.loss.toFixed(3)}`;
  if (p.etaSeconds) text += ` · ${fmtDuration(p.etaSeconds)} left`;
  return text;
}

/** Sweeps and trials in these states can still change. */
export const UNFINISHED = /** @type {ReadonlySet<string>} */ (new Set(UNFINISHED_STATUSES));
