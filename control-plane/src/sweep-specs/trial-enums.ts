/**
 * The lists of methods, share modes and task types, taken from the proto enums (proto/bslora_api/worker/v1), which
 * are their one declaration. Specs, keys, the REST API and the dashboard write a value lower-case without its
 * prefix (`METHOD_BSLORA` is `bslora`); the proto's `oneof`s carry each value's settings under the same names.
 */
import {
  Method,
  ShareMode,
  TaskType,
  type BSLoraSettings,
  type Trial,
} from '../gen/bslora_api/worker/v1/worker_service.js';

/** `'bslora' | 'lora' | …` from `METHOD_BSLORA | METHOD_LORA | …`. */
type NamesOf<E, P extends string> = Lowercase<
  Exclude<keyof E, `${P}UNSPECIFIED` | 'UNRECOGNIZED'> extends infer K
    ? K extends `${P}${infer N}`
      ? N
      : never
    : never
>;

function namesOf<E extends Record<string, string | number>, P extends string>(
  e: E,
  prefix: P,
): [NamesOf<E, P>, ...NamesOf<E, P>[]] {
  const names = Object.keys(e)
    .filter((k) => k.startsWith(prefix) && k !== `${prefix}UNSPECIFIED`)
    .map((k) => k.slice(prefix.length).toLowerCase());
  return names as [NamesOf<E, P>, ...NamesOf<E, P>[]];
}

/** Trial methods: BSLoRA, the baselines from PEFT, and `base` (the untuned model, evaluated only). */
export const METHODS = namesOf(Method, 'METHOD_');
/** BSLoRA shape transformations for shared matrices. */
export const SHARE_MODES = namesOf(ShareMode, 'SHARE_MODE_');
/** What the base model's head does. */
export const TASK_TYPES = namesOf(TaskType, 'TASK_TYPE_');

export type MethodName = (typeof METHODS)[number];
export type ShareModeName = (typeof SHARE_MODES)[number];
export type TaskTypeName = (typeof TASK_TYPES)[number];

// The oneof cases must be the enum's names: a compile error here means the proto's enum and oneof disagree.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const methodCasesMatch: Same<NonNullable<Trial['method']>['$case'], MethodName> = true;
const shareCasesMatch: Same<NonNullable<BSLoraSettings['share']>['$case'], ShareModeName> = true;
void methodCasesMatch;
void shareCasesMatch;

/** `causal_lm` → `TaskType.TASK_TYPE_CAUSAL_LM`. */
export function taskTypeOf(name: TaskTypeName): TaskType {
  return TaskType[`TASK_TYPE_${name.toUpperCase()}` as keyof typeof TaskType];
}

/** `TaskType.TASK_TYPE_CAUSAL_LM` → `causal_lm` (`null` for unset or unknown values). */
export function taskTypeName(value: TaskType): TaskTypeName | null {
  const key = TaskType[value] as string | undefined;
  const name = key?.startsWith('TASK_TYPE_') ? key.slice('TASK_TYPE_'.length).toLowerCase() : null;
  return TASK_TYPES.includes(name as TaskTypeName) ? (name as TaskTypeName) : null;
}

/** `bslora` → `Method.METHOD_BSLORA`. */
export function methodEnum(name: MethodName): Method {
  return Method[`METHOD_${name.toUpperCase()}` as keyof typeof Method];
}
