/**
 * Parsing a sweep spec from YAML or JSON text: syntax, structure, cross-field rules and local file existence, all
 * problems reported together, each named by its path in the spec.
 */
import { dirname } from 'node:path';

import { LineCounter, isMap, isScalar, parseDocument, visit, type Document } from 'yaml';
import { z } from 'zod';

import { ControlPlaneError, type SpecIssue } from '../errors.js';
import { checkLocalPath } from './local-paths.js';
import { classifyRef, lmEvalTaskFile, normalizeRef, resolveLocalRef } from './resource-refs.js';
import { ROOT_PATH, formatPath, zodIssuesToSpecIssues } from './spec-issues.js';
import { sweepSpecObjectSchema, sweepSpecSchema, type SweepSpec } from './sweep-spec.js';

/** Options for {@link parseSweepSpec}. */
export interface ParseSweepSpecOptions {
  /**
   * Text format. YAML also reads JSON, so this matters only for stricter JSON errors.
   * @defaultValue `'json'` when `sourceName` ends in `.json`, else `'yaml'`
   */
  format?: 'yaml' | 'json';
  /** Name shown in error messages (a file path, "request body"). @defaultValue `'sweep spec'` */
  sourceName?: string;
  /** Folder that relative local paths are resolved against. @defaultValue `process.cwd()` */
  baseDir?: string;
  /**
   * Folders local paths must lie under, symlinks resolved (local-paths.ts). The CLI passes the spec's folder and
   * its `--root`s, the server its data roots. @defaultValue no confinement (library use)
   */
  roots?: readonly string[];
}

/** Unwraps optional, default, prefault and pipe wrappers to the schema that does the work. */
function unwrap(schema: z.ZodType): z.ZodType {
  let s: z.ZodType = schema;
  for (;;) {
    if (
      s instanceof z.ZodOptional ||
      s instanceof z.ZodDefault ||
      s instanceof z.ZodPrefault ||
      s instanceof z.ZodNullable
    ) {
      s = s.unwrap() as z.ZodType;
    } else return s;
  }
}

/** Candidate schemas at `path` (unions branch), for "did you mean" hints on unknown keys. */
function schemasAt(schema: z.ZodType, path: readonly PropertyKey[]): z.ZodType[] {
  let current = [unwrap(schema)];
  for (const seg of path) {
    const next: z.ZodType[] = [];
    for (const s of current) {
      const candidates = s instanceof z.ZodUnion ? (s.options as z.ZodType[]).map(unwrap) : [s];
      for (const c of candidates) {
        if (c instanceof z.ZodObject && typeof seg === 'string' && seg in c.shape)
          next.push(unwrap(c.shape[seg] as z.ZodType));
        if (c instanceof z.ZodArray && typeof seg === 'number') next.push(unwrap(c.element as z.ZodType));
      }
    }
    current = next;
  }
  return current.flatMap((s) => (s instanceof z.ZodUnion ? (s.options as z.ZodType[]).map(unwrap) : [s]));
}

function knownKeysAt(path: readonly PropertyKey[]): string[] {
  return schemasAt(sweepSpecObjectSchema, path).flatMap((s) => (s instanceof z.ZodObject ? Object.keys(s.shape) : []));
}

/** Reads YAML or JSON text into plain data, or the syntax problems. */
function readText(text: string, format: 'yaml' | 'json'): { data: unknown } | { issues: SpecIssue[] } {
  if (format === 'json') {
    try {
      return { data: JSON.parse(text) as unknown };
    } catch (err) {
      return { issues: [{ path: ROOT_PATH, message: `JSON syntax error: ${(err as Error).message}` }] };
    }
  }
  // The yaml library's own unique-key check compares every key with every other (quadratic); duplicates are
  // found here with one set per mapping instead.
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: false, lineCounter });
  if (doc.errors.length > 0) {
    return {
      issues: doc.errors
        .slice(0, MAX_ISSUES)
        .map((e) => ({ path: ROOT_PATH, message: `YAML syntax error: ${e.message.split('\n')[0]}` })),
    };
  }
  const duplicates = duplicateKeys(doc, lineCounter);
  if (duplicates.length > 0) return { issues: duplicates };
  try {
    return { data: doc.toJS({ maxAliasCount: 100 }) as unknown };
  } catch (err) {
    return { issues: [{ path: ROOT_PATH, message: `YAML error: ${(err as Error).message}` }] };
  }
}

/** Most problems listed in one error; the rest are counted. */
export const MAX_ISSUES = 100;

/** Duplicate keys of every mapping, in one pass (linear in the number of keys). */
function duplicateKeys(doc: Document, lines: LineCounter): SpecIssue[] {
  const issues: SpecIssue[] = [];
  visit(doc, {
    Map(_key, map) {
      if (!isMap(map)) return;
      const seen = new Set<string>();
      for (const item of map.items) {
        const k = isScalar(item.key) ? String(item.key.value) : JSON.stringify(item.key);
        if (seen.has(k)) {
          const at = isScalar(item.key) && item.key.range ? lines.linePos(item.key.range[0]) : null;
          if (issues.length < MAX_ISSUES) {
            issues.push({
              path: ROOT_PATH,
              message: `YAML syntax error: map keys must be unique; ${JSON.stringify(k)} appears again${at ? ` at line ${at.line}, column ${at.col}` : ''}`,
            });
          }
        }
        seen.add(k);
      }
    },
  });
  return issues;
}

/** The model and data reference fields of raw spec data, with their paths, wherever they are strings. */
export function refFields(data: unknown): { path: string; ref: string }[] {
  if (!data || typeof data !== 'object' || Array.isArray(data)) return [];
  const d = data as Record<string, unknown>;
  const out: { path: string; ref: string }[] = [];
  for (const key of ['base_model', 'train_data'] as const) {
    if (typeof d[key] === 'string') out.push({ path: key, ref: d[key] });
  }
  if (Array.isArray(d.eval_tasks)) {
    d.eval_tasks.forEach((ref, i) => {
      if (typeof ref === 'string') out.push({ path: formatPath(['eval_tasks', i]), ref });
    });
  }
  return out;
}

/**
 * Problems of local paths (outside the roots, missing, a FIFO or device), found in raw data so that they are
 * reported beside structural ones. Nothing is opened or read here.
 */
function localPathIssues(data: unknown, baseDir: string, roots: readonly string[] | undefined): SpecIssue[] {
  const issues: SpecIssue[] = [];
  for (const { path, ref } of refFields(data)) {
    const kind = ref.length === 0 ? null : classifyRef(ref);
    if (kind !== 'local' && !(kind === 'lm-eval' && lmEvalTaskFile(ref) !== null)) continue;
    if (kind === 'lm-eval' && !/\.ya?ml$/i.test(lmEvalTaskFile(ref)!)) {
      issues.push({ path, message: `"${ref}": a local lm-eval task is a .yaml or .yml file` });
      continue;
    }
    const check = checkLocalPath(ref, resolveLocalRef(ref, baseDir), roots);
    if (!check.ok) issues.push({ path, message: check.message });
    else if (kind === 'lm-eval' && check.kind !== 'file')
      issues.push({ path, message: `"${ref}" is a folder; an lm-eval task is a .yaml file` });
  }
  return issues;
}

function invalid(sourceName: string, all: SpecIssue[]): ControlPlaneError {
  const issues = all.slice(0, MAX_ISSUES);
  const more = all.length - issues.length;
  const lines = issues.map((i) => `  ${i.path}: ${i.message}`).join('\n') + (more > 0 ? `\n  … and ${more} more` : '');
  const count = all.length === 1 ? '1 problem' : `${all.length} problems`;
  return new ControlPlaneError('CP_ERR_SPEC_INVALID', `${sourceName} is invalid (${count}):\n${lines}`, { issues });
}

/**
 * Parses and validates a sweep spec. Local model and data paths are resolved against `baseDir` and must exist;
 * in the returned spec they are absolute, and `hub:` prefixes are dropped.
 *
 * @throws ControlPlaneError `CP_ERR_SPEC_INVALID`, whose `issues` name every problem by its path
 *   (`grid.ranks[2].local: must be >= 0`).
 * @example
 * const spec = parseSweepSpec(readFileSync('jobs/quickstart.yaml', 'utf8'), { baseDir: 'jobs' });
 */
export function parseSweepSpec(text: string, opts: ParseSweepSpecOptions = {}): SweepSpec {
  const sourceName = opts.sourceName ?? 'sweep spec';
  const format = opts.format ?? (sourceName.toLowerCase().endsWith('.json') ? 'json' : 'yaml');
  const baseDir = opts.baseDir ?? process.cwd();

  const read = readText(text, format);
  if ('issues' in read) throw invalid(sourceName, read.issues);

  const result = sweepSpecSchema.safeParse(read.data, { reportInput: true });
  const issues = result.success ? [] : zodIssuesToSpecIssues(result.error.issues, { knownKeys: knownKeysAt });
  const seen = new Set(issues.map((i) => `${i.path}\0${i.message}`));
  for (const issue of localPathIssues(read.data, baseDir, opts.roots)) {
    if (!seen.has(`${issue.path}\0${issue.message}`)) issues.push(issue);
  }
  if (!result.success || issues.length > 0) throw invalid(sourceName, issues);

  const spec = result.data;
  return {
    ...spec,
    base_model: normalizeRef(spec.base_model, baseDir),
    train_data: normalizeRef(spec.train_data, baseDir),
    eval_tasks: spec.eval_tasks.map((ref) => normalizeRef(ref, baseDir)),
  };
}

/**
 * The local paths (absolute) whose content identifies a parsed spec's references, with the field naming each: a
 * local file or folder itself, and the folder of a local lm-eval task file.
 */
export function localRefsOf(spec: SweepSpec): { path: string; absPath: string }[] {
  const out: { path: string; absPath: string }[] = [];
  for (const { path, ref } of refFields(spec)) {
    const kind = classifyRef(ref);
    if (kind === 'local') out.push({ path, absPath: resolveLocalRef(ref, process.cwd()) });
    else if (kind === 'lm-eval' && lmEvalTaskFile(ref) !== null)
      out.push({ path, absPath: dirname(resolveLocalRef(ref, process.cwd())) });
  }
  return out;
}

/**
 * Whether spec text names a local path relative to its folder (the CLI sends the folder as `?base=` only then).
 * Text that does not parse counts as not: the server reports its problems.
 */
export function usesRelativeLocalPaths(text: string, format: 'yaml' | 'json' = 'yaml'): boolean {
  const read = readText(text, format);
  if ('issues' in read) return false;
  return refFields(read.data).some(({ ref }) => {
    const kind = classifyRef(ref);
    const path = kind === 'local' ? ref : kind === 'lm-eval' ? lmEvalTaskFile(ref) : null;
    return path !== null && !/^(\/|~|file:\/)/.test(path);
  });
}
