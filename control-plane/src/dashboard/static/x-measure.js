// @ts-check
/**
 * The chart's x axis: trainable parameters (the default) or one of the serving footprint's measures that the worker
 * records in each result's counts, served in the results table's `footprint` columns (file bytes, resident bytes
 * factored or merged into per-module LoRA, adapters per
 * GiB). The chart itself always plots `trial.trainable`; `withXMeasure` hands it trials whose `trainable` is the
 * chosen measure, so the chart, the Pareto line and the baseline marks follow the choice unchanged.
 */

/** @typedef {import('./api.js').SweepData} SweepData */

export const X_MEASURES = [
  { key: 'trainable', label: 'trainable parameters' },
  { key: 'adapterFileBytes', label: 'adapter file bytes' },
  { key: 'residentBytesBf16', label: 'resident bytes (bf16)' },
  { key: 'residentBytesFp32', label: 'resident bytes (fp32)' },
  { key: 'mergedResidentBytesBf16', label: 'merged into LoRA, bytes (bf16)' },
  { key: 'mergedResidentBytesFp32', label: 'merged into LoRA, bytes (fp32)' },
  { key: 'adaptersPerGib', label: 'adapters per GiB (bf16)' },
];

/** @param {string} key */
export function xMeasureLabel(key) {
  return (X_MEASURES.find((m) => m.key === key) ?? X_MEASURES[0]).label;
}

/**
 * The sweep data with each trial's `trainable` replaced by the measure `key` (null where a result lacks it).
 * @param {SweepData} data
 * @param {string} key
 * @returns {SweepData}
 */
export function withXMeasure(data, key) {
  if (key === 'trainable') return data;
  const trials = data.trials.map((t) => {
    const v = t.footprint?.[key];
    return { ...t, trainable: typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : null };
  });
  return { ...data, trials };
}
