/**
 * The worker's built-in models and tasks (`builtin:<name>`) and their versions, read from
 * proto/builtin-resources.json, the file the worker's versions are tested against. The control plane uses it to
 * refuse a spec that names a builtin the worker does not have (before anything is queued) and to put each builtin's
 * version into trial keys, so that results made by an earlier version of a builtin are never reused.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

interface BuiltinResources {
  models: Record<string, string>;
  tasks: Record<string, string>;
  task_splits: string[];
}

const RESOURCES_PATH = fileURLToPath(new URL('../../../proto/builtin-resources.json', import.meta.url));

export const BUILTIN_RESOURCES: Readonly<BuiltinResources> = JSON.parse(
  readFileSync(RESOURCES_PATH, 'utf8'),
) as BuiltinResources;

const list = (names: Record<string, string>) =>
  Object.keys(names)
    .map((n) => `builtin:${n}`)
    .join(', ');

/** `builtin:arith/train` → `{ name: 'arith', split: 'train' }`. */
function parts(ref: string): { name: string; split: string | null } {
  const [name, split] = ref.slice('builtin:'.length).split('/');
  return { name: name!, split: split ?? null };
}

/** The version of the builtin `ref` names (`null` when there is no such builtin). */
export function builtinVersion(ref: string): string | null {
  const { name } = parts(ref);
  return Object.hasOwn(BUILTIN_RESOURCES.models, name)
    ? BUILTIN_RESOURCES.models[name]!
    : Object.hasOwn(BUILTIN_RESOURCES.tasks, name)
      ? BUILTIN_RESOURCES.tasks[name]!
      : null;
}

/** Why `ref` is not a builtin of the kind `role` needs, or `null` when it is one. */
export function checkBuiltin(ref: string, role: 'model' | 'data'): string | null {
  const { name, split } = parts(ref);
  if (role === 'model') {
    if (Object.hasOwn(BUILTIN_RESOURCES.models, name) && split === null) return null;
    return `"${ref}" is not a builtin model; the builtin models are ${list(BUILTIN_RESOURCES.models)}`;
  }
  if (!Object.hasOwn(BUILTIN_RESOURCES.tasks, name)) {
    return `"${ref}" is not a builtin task; the builtin tasks are ${list(BUILTIN_RESOURCES.tasks)}`;
  }
  if (split !== null && !BUILTIN_RESOURCES.task_splits.includes(split)) {
    return `"${ref}": a builtin task has the splits ${BUILTIN_RESOURCES.task_splits.join(' and ')}, not "${split}"`;
  }
  return null;
}
