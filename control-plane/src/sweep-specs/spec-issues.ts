/**
 * Spec issues: zod issues and cross-field problems turned into `{ path, message }` with the path written the way a
 * user finds it in the spec (`grid.ranks[2].local`) and messages that name the constraint (`must be >= 0`).
 */
import type { z } from 'zod';

import type { SpecIssue } from '../errors.js';

type ZodIssue = z.core.$ZodIssue;

/** The path of the whole spec. */
export const ROOT_PATH = '(root)';

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** Writes a path as `grid.ranks[2].local`; the empty path is `(root)`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (typeof seg === 'string' && IDENTIFIER.test(seg)) out += out ? `.${seg}` : seg;
    else out += `[${JSON.stringify(String(seg))}]`;
  }
  return out || ROOT_PATH;
}

function typeOfInput(input: unknown): string {
  if (input === null) return 'null';
  if (Array.isArray(input)) return 'a list';
  if (typeof input === 'object') return 'a mapping';
  if (typeof input === 'string') return `the string ${JSON.stringify(input)}`;
  if (typeof input === 'number') return `the number ${input}`;
  return `${typeof input} ${String(input)}`;
}

const EXPECTED_NAMES: Record<string, string> = {
  object: 'a mapping',
  array: 'a list',
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'true or false',
};

function quote(value: unknown): string {
  return typeof value === 'string' ? `"${value}"` : String(value);
}

/** Edit distance, for "did you mean" hints on unknown keys. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length]!;
}

/** The closest of `known` to `key`, when close enough to be a likely typo. */
export function suggestKey(key: string, known: readonly string[]): string | null {
  let best: string | null = null;
  let bestDistance = Infinity;
  for (const k of known) {
    const d = distance(key.toLowerCase(), k.toLowerCase());
    if (d < bestDistance) {
      best = k;
      bestDistance = d;
    }
  }
  return best !== null && bestDistance <= Math.max(2, Math.floor(key.length / 3)) ? best : null;
}

/** Options for {@link zodIssuesToSpecIssues}. */
export interface ZodIssueFormatOptions {
  /** Known keys of the object at a path, for "did you mean" hints; `undefined` when unknown. */
  knownKeys?: (path: readonly PropertyKey[]) => readonly string[] | undefined;
}

/** A root-level issue that only says the input has the wrong shape for this branch (a list given to a scalar). */
function isShapeMismatch(issue: ZodIssue): boolean {
  if (issue.path.length > 0) return false;
  if (issue.code === 'invalid_type') return true;
  return issue.code === 'invalid_value' && issue.input !== null && typeof issue.input === 'object';
}

/** Picks the union branch the user evidently meant: the one that got past the type check. */
function meantBranch(errors: readonly (readonly ZodIssue[])[]): readonly ZodIssue[] | null {
  const plausible = errors.filter((branch) => !(branch.length === 1 && isShapeMismatch(branch[0]!)));
  return plausible.length === 1 ? plausible[0]! : null;
}

function unionMessage(errors: readonly (readonly ZodIssue[])[]): string {
  const expected = errors
    .map((branch) => (branch.length === 1 && branch[0]!.code === 'invalid_type' ? branch[0]!.expected : null))
    .filter((e): e is string => e !== null);
  if (expected.length === errors.length) {
    const names = [...new Set(expected.map((e) => EXPECTED_NAMES[e] ?? e))];
    return `expected ${names.join(' or ')}`;
  }
  return 'does not match any allowed form';
}

/** Turns zod issues into spec issues, one per problem (an unknown-keys issue becomes one issue per key). */
export function zodIssuesToSpecIssues(
  issues: readonly ZodIssue[],
  options: ZodIssueFormatOptions = {},
  prefix: readonly PropertyKey[] = [],
): SpecIssue[] {
  const out: SpecIssue[] = [];
  for (const issue of issues) {
    const path = [...prefix, ...issue.path];
    const add = (message: string, at: readonly PropertyKey[] = path): void => {
      out.push({ path: formatPath(at), message });
    };
    switch (issue.code) {
      case 'invalid_type':
        if (issue.input === undefined) add('required');
        else add(`expected ${EXPECTED_NAMES[issue.expected] ?? issue.expected}, got ${typeOfInput(issue.input)}`);
        break;
      case 'too_small': {
        const min = Number(issue.minimum);
        if (issue.origin === 'array') add(min === 1 ? 'must not be empty' : `must have at least ${min} items`);
        else if (issue.origin === 'string')
          add(min === 1 ? 'must not be empty' : `must be at least ${min} characters`);
        else
          add(
            `must be ${issue.inclusive ? '>=' : '>'} ${min}${issue.input !== undefined ? ` (got ${quote(issue.input)})` : ''}`,
          );
        break;
      }
      case 'too_big': {
        const max = Number(issue.maximum);
        if (issue.origin === 'array') add(`must have at most ${max} items`);
        else if (issue.origin === 'string') add(`must be at most ${max} characters`);
        else
          add(
            `must be ${issue.inclusive ? '<=' : '<'} ${max}${issue.input !== undefined ? ` (got ${quote(issue.input)})` : ''}`,
          );
        break;
      }
      case 'invalid_value':
        add(
          `${issue.input !== undefined ? `${quote(issue.input)} is not allowed; ` : ''}must be one of ${issue.values.map((v) => String(v)).join(', ')}`,
        );
        break;
      case 'invalid_format':
        if (issue.format === 'url')
          add(`must be an http or https URL${issue.input ? ` (got ${quote(issue.input)})` : ''}`);
        else add(issue.message);
        break;
      case 'not_multiple_of':
        add(`must be a multiple of ${issue.divisor}`);
        break;
      case 'unrecognized_keys': {
        const known = options.knownKeys?.(path) ?? [];
        for (const key of issue.keys) {
          const hint = suggestKey(key, known);
          add(`unknown key${hint ? ` (did you mean "${hint}"?)` : ''}`, [...path, key]);
        }
        break;
      }
      case 'invalid_union': {
        const branch = issue.errors.length > 0 ? meantBranch(issue.errors) : null;
        if (branch) out.push(...zodIssuesToSpecIssues(branch, options, path));
        else add(issue.errors.length > 0 ? unionMessage(issue.errors) : issue.message);
        break;
      }
      default:
        add(issue.message);
    }
  }
  return out;
}
