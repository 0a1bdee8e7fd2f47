/**
 * A trial's serving footprint (the worker's `ParameterCounts.footprint`): what its adapter costs on disk and when
 * resident. Stored flat in the result's `counts` record beside the part counts, so results, CSV and the dashboard
 * read every field by name.
 */
import type { ParameterCounts } from '../gen/bslora_api/worker/v1/worker_service.js';

/** The footprint fields, in the order of the proto message: counts key, CSV column, short label. */
export const FOOTPRINT_FIELDS = [
  { key: 'adapterFileBytes', column: 'adapter_file_bytes', label: 'file bytes' },
  { key: 'residentBytesBf16', column: 'resident_bytes_bf16', label: 'resident bf16' },
  { key: 'residentBytesFp32', column: 'resident_bytes_fp32', label: 'resident fp32' },
  { key: 'mergedResidentBytesBf16', column: 'merged_resident_bytes_bf16', label: 'merged bf16' },
  { key: 'mergedResidentBytesFp32', column: 'merged_resident_bytes_fp32', label: 'merged fp32' },
  { key: 'adaptersPerGib', column: 'adapters_per_gib', label: 'per GiB' },
] as const;

export type FootprintKey = (typeof FOOTPRINT_FIELDS)[number]['key'];

/** The worker's counts as the flat record results store: part counts plus the footprint fields (absent when the
 * worker sent no footprint, as an older worker does). */
export function flatCounts(counts: ParameterCounts): Record<string, number> {
  const { footprint, ...parts } = counts;
  const flat: Record<string, number> = {};
  for (const [k, v] of Object.entries(parts)) flat[k] = Number(v);
  if (footprint) for (const f of FOOTPRINT_FIELDS) flat[f.key] = Number(footprint[f.key]);
  return flat;
}
