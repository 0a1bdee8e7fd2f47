/**
 * References to models and data in a sweep spec: `builtin:<name>`, a local path, or a hub id.
 *
 * The kind of a reference is decided by its spelling alone, never by probing the network, so that the same spec
 * means the same thing on every machine:
 *
 * - `builtin:<name>`: a model or task the worker generates offline (`builtin:tiny-llama`, `builtin:arith`).
 * - local: starts with `/`, `./`, `../`, `~/` or `file:`; or has two or more `/`; or ends in a file extension the
 *   workers read (`.json`, `.jsonl`, `.gguf`, …). Relative paths are resolved against the spec file's folder.
 * - hub: `hub:<id>`, or any other `owner/name` (optionally `@revision`). Hub ids are not checked for existence.
 * - lm-eval: `lm-eval:<task name>` (a task lm-evaluation-harness knows on the worker) or `lm-eval:<path to a task
 *   YAML>` (a local task; checked to exist and resolved like any local path). Eval tasks only.
 * - `llm-adapters:<Set>`: one of the LLM-Adapters commonsense sets, a named public data set like a hub id (kind
 *   `hub`: identified by its string; the worker reads it from its data mirror or downloads it).
 *
 * A local data reference may end in `#<style>` (`./boolq/test.json#mc`), which the worker reads as the way records
 * become prompts; the style is kept in the reference and enters the trial key, and the file is the part before it.
 */
import { homedir } from 'node:os';
import { isAbsolute, resolve } from 'node:path';

/** The three kinds of model and data reference. */
export type RefKind = 'builtin' | 'local' | 'hub' | 'lm-eval';

export const LM_EVAL_PREFIX = 'lm-eval:';
const LM_EVAL_TASK_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** The task YAML path of an `lm-eval:` reference, or null when it names a task (`lm-eval:arc_easy`). */
export function lmEvalTaskFile(ref: string): string | null {
  const inner = ref.slice(LM_EVAL_PREFIX.length);
  return /^(\/|\.\/|\.\.\/|~\/)/.test(inner) || /\.ya?ml$/i.test(inner) ? inner : null;
}

/** File extensions that make a bare relative path count as local (`data/train.jsonl`). */
export const LOCAL_FILE_EXTENSIONS = [
  '.json',
  '.jsonl',
  '.csv',
  '.tsv',
  '.parquet',
  '.arrow',
  '.txt',
  '.gguf',
  '.safetensors',
  '.bin',
  '.pt',
] as const;

const BUILTIN_PATTERN = /^builtin:[a-z0-9][a-z0-9._-]*(\/[a-z0-9][a-z0-9._-]*)?$/;
const HUB_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]*(\/[A-Za-z0-9][A-Za-z0-9._-]*)?(@[A-Za-z0-9][A-Za-z0-9._/-]*)?$/;

const FRAGMENT_PATTERN = /#([a-z0-9_-]+)$/;

export const LLM_ADAPTERS_PREFIX = 'llm-adapters:';
/** The commonsense sets of LLM-Adapters' `dataset/` folder (the worker's `data/mirror.py` lists the same). */
export const LLM_ADAPTERS_SETS = [
  'boolq',
  'piqa',
  'social_i_qa',
  'hellaswag',
  'winogrande',
  'ARC-Easy',
  'ARC-Challenge',
  'openbookqa',
] as const;

/** Splits `path#style` into the path and the style (`null` when there is none). */
export function splitRefFragment(ref: string): { base: string; fragment: string | null } {
  const m = FRAGMENT_PATTERN.exec(ref);
  return m ? { base: ref.slice(0, m.index), fragment: m[1]! } : { base: ref, fragment: null };
}

/** Says which kind of reference `ref` is, by its spelling. */
export function classifyRef(ref: string): RefKind {
  if (ref.startsWith('builtin:')) return 'builtin';
  if (ref.startsWith('hub:')) return 'hub';
  if (ref.startsWith(LM_EVAL_PREFIX)) return 'lm-eval';
  if (ref.startsWith(LLM_ADAPTERS_PREFIX)) return 'hub';
  return classifyPath(splitRefFragment(ref).base);
}

function classifyPath(ref: string): RefKind {
  if (ref.startsWith('file:')) return 'local';
  if (ref === '.' || ref === '..' || ref === '~') return 'local';
  if (/^(\/|\.\/|\.\.\/|~\/)/.test(ref)) return 'local';
  if ((ref.match(/\//g) ?? []).length >= 2) return 'local';
  const lower = ref.toLowerCase();
  if (LOCAL_FILE_EXTENSIONS.some((ext) => lower.endsWith(ext))) return 'local';
  return 'hub';
}

/**
 * Checks the spelling of a reference; returns a message for the spec issue, or `null` when it is well formed.
 * Local paths are not checked for existence here (see {@link resolveLocalRef}).
 */
export function checkRefSyntax(ref: string): string | null {
  if (ref.trim() !== ref) return 'must not start or end with whitespace';
  switch (classifyRef(ref)) {
    case 'builtin':
      return BUILTIN_PATTERN.test(ref)
        ? null
        : `"${ref}" is not a valid builtin reference; use builtin:<name> with lower-case letters, digits, '.', '_' or '-'`;
    case 'hub': {
      if (ref.startsWith(LLM_ADAPTERS_PREFIX)) {
        const name = splitRefFragment(ref).base.slice(LLM_ADAPTERS_PREFIX.length);
        return (LLM_ADAPTERS_SETS as readonly string[]).includes(name)
          ? null
          : `"${ref}" names no LLM-Adapters set; use llm-adapters:<set> with one of ${LLM_ADAPTERS_SETS.join(', ')}`;
      }
      const id = ref.startsWith('hub:') ? ref.slice('hub:'.length) : ref;
      return HUB_ID_PATTERN.test(id)
        ? null
        : `"${ref}" is neither a builtin reference, a local path (start it with ./ or /) nor a hub id (owner/name[@revision])`;
    }
    case 'local':
      return ref === 'file:' ? 'file: must be followed by a path' : null;
    case 'lm-eval':
      return lmEvalTaskFile(ref) !== null || LM_EVAL_TASK_PATTERN.test(ref.slice(LM_EVAL_PREFIX.length))
        ? null
        : `"${ref}" is not an lm-eval reference; use lm-eval:<task name> or lm-eval:<path to a task .yaml>`;
  }
}

/**
 * The absolute path of the file or folder a local reference names (without any `#style`), relative references
 * resolved against `baseDir`.
 */
export function resolveLocalRef(ref: string, baseDir: string): string {
  const file = ref.startsWith(LM_EVAL_PREFIX) ? lmEvalTaskFile(ref) : null;
  const base = file ?? splitRefFragment(ref).base;
  let path = base.startsWith('file:') ? base.slice('file:'.length) : base;
  if (path === '~' || path.startsWith('~/')) path = homedir() + path.slice(1);
  return isAbsolute(path) ? resolve(path) : resolve(baseDir, path);
}

/**
 * Normalises a reference for a trial: local paths become absolute, `hub:` prefixes are dropped (unless the bare
 * id would read as a local path), builtin references stay as they are. Normalising twice changes nothing.
 */
export function normalizeRef(ref: string, baseDir: string): string {
  switch (classifyRef(ref)) {
    case 'local': {
      const { fragment } = splitRefFragment(ref);
      return resolveLocalRef(ref, baseDir) + (fragment !== null ? `#${fragment}` : '');
    }
    case 'hub': {
      // Keep the prefix where the bare id would read as a local path (`hub:org/data.json`).
      const bare = ref.startsWith('hub:') ? ref.slice('hub:'.length) : ref;
      return classifyRef(bare) === 'hub' ? bare : ref;
    }
    case 'builtin':
      return ref;
    case 'lm-eval':
      return lmEvalTaskFile(ref) === null ? ref : `${LM_EVAL_PREFIX}${resolveLocalRef(ref, baseDir)}`;
  }
}
