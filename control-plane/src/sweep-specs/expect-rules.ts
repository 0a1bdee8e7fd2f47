/**
 * The small language of `expect` rules: trial selectors (`lora:r8`, `bslora:kron`) and targets (`"lora:r8 - 0.5"`).
 *
 * A selector picks a set of a sweep's configurations:
 *
 * | selector | picks |
 * | --- | --- |
 * | `base` | the untuned base model |
 * | `lora`, `vera` | every LoRA (VeRA) trial |
 * | `lora:r8`, `vera:r256` | the LoRA (VeRA) trials of that rank |
 * | `bslora` | every BSLoRA trial |
 * | `bslora:kron` | the BSLoRA trials of one share mode |
 * | `bslora:kron:2/4/16` | one share mode and rank triple (local/intra/inter) |
 * | `peft` | every trial of a `grid.peft` entry |
 * | `peft:lokr-r8` | the trials of the `grid.peft` entry of that name |
 *
 * A target is a number (`70`), or a selector with an optional offset in metric points (`lora:r8 - 0.5`), meaning
 * "the best seed-mean value among the selected configurations, plus or minus the offset". After a `peft:<name>`
 * selector, whose name may hold '-', the offset needs a space before its sign (`peft:lokr-r8 - 0.5`).
 */
import { SHARE_MODES, type MethodName, type ShareModeName } from './trial-enums.js';

/** A parsed trial selector. Fields left `null` match anything. */
export interface TrialSelector {
  method: MethodName;
  /** LoRA / VeRA rank. */
  rank: number | null;
  shareMode: ShareModeName | null;
  ranks: { local: number; intra: number; inter: number } | null;
  /** Name of a `grid.peft` entry. */
  peftName: string | null;
}

/** A parsed `at_least` target: a fixed number, or a selector's best value plus an offset. */
export type ExpectTarget =
  | { kind: 'value'; value: number }
  | { kind: 'relative'; selector: TrialSelector; offset: number };

const SELECTOR_PATTERN = new RegExp(
  `^(?:(base)|(lora|vera)(?::r(\\d+))?|(bslora)(?::(${SHARE_MODES.join('|')})(?::(\\d+)/(\\d+)/(\\d+))?)?)$`,
);
const TARGET_PATTERN = /^\s*([a-z0-9:/]+)\s*(?:([+-])\s*(\d+(?:\.\d+)?))?\s*$/;
const PEFT_SELECTOR_PATTERN = /^peft(?::([a-z0-9][a-z0-9._-]*))?$/;
const PEFT_TARGET_PATTERN = /^\s*(peft(?::[a-z0-9][a-z0-9._-]*)?)(?:\s+([+-])\s*(\d+(?:\.\d+)?))?\s*$/;

/** The selector grammar in one line, for error messages. */
export const SELECTOR_SYNTAX = `base | lora[:r<N>] | vera[:r<N>] | bslora[:<${SHARE_MODES.join('|')}>[:<local>/<intra>/<inter>]] | peft[:<name>]`;

/** Parses a selector such as `lora:r8`; returns `null` when it is not one. */
export function parseTrialSelector(text: string): TrialSelector | null {
  const none = { rank: null, shareMode: null, ranks: null, peftName: null };
  const p = PEFT_SELECTOR_PATTERN.exec(text.trim());
  if (p) return { ...none, method: 'peft', peftName: p[1] ?? null };
  const m = SELECTOR_PATTERN.exec(text.trim());
  if (!m) return null;
  if (m[1]) return { ...none, method: 'base' };
  if (m[2]) return { ...none, method: m[2] as 'lora' | 'vera', rank: m[3] ? Number(m[3]) : null };
  return {
    ...none,
    method: 'bslora',
    shareMode: (m[5] as TrialSelector['shareMode']) ?? null,
    ranks: m[6] ? { local: Number(m[6]), intra: Number(m[7]), inter: Number(m[8]) } : null,
  };
}

/** Parses an `at_least` target (a number or `"<selector> [± <points>]"`); returns `null` when it is not one. */
export function parseExpectTarget(target: number | string): ExpectTarget | null {
  if (typeof target === 'number') return Number.isFinite(target) ? { kind: 'value', value: target } : null;
  if (/^\s*-?\d+(\.\d+)?\s*$/.test(target)) return { kind: 'value', value: Number(target) };
  const m = TARGET_PATTERN.exec(target) ?? PEFT_TARGET_PATTERN.exec(target);
  if (!m) return null;
  const selector = parseTrialSelector(m[1]!);
  if (!selector) return null;
  const offset = m[3] ? Number(m[3]) * (m[2] === '-' ? -1 : 1) : 0;
  return { kind: 'relative', selector, offset };
}

/** The fields of a trial that a selector looks at (its `TrialCoordinates` have them all). */
export interface SelectableTrial {
  method: MethodName;
  rank: number | null;
  shareMode: ShareModeName | null;
  ranks: { local: number; intra: number; inter: number } | null;
  peftName: string | null;
}

/** Whether `trial` is one of the configurations `selector` picks. */
export function matchesSelector(trial: SelectableTrial, selector: TrialSelector): boolean {
  if (trial.method !== selector.method) return false;
  if (selector.rank !== null && trial.rank !== selector.rank) return false;
  if (selector.shareMode !== null && trial.shareMode !== selector.shareMode) return false;
  if (selector.peftName !== null && trial.peftName !== selector.peftName) return false;
  if (selector.ranks !== null) {
    const r = trial.ranks;
    if (
      !r ||
      r.local !== selector.ranks.local ||
      r.intra !== selector.ranks.intra ||
      r.inter !== selector.ranks.inter
    ) {
      return false;
    }
  }
  return true;
}
