/**
 * The JSON Schema of the sweep spec, generated from the zod schema for editor completion and validation
 * (`jobs/sweep.schema.json`; regenerate with `npx tsx infra/scripts/gen-spec-schema.ts`). It describes the
 * structure only; cross-field rules (share sizes per mode, whole ranks, budgets) are checked by `parseSweepSpec`.
 */
import { z } from 'zod';

import { sweepSpecObjectSchema } from './sweep-spec.js';

/** Where the generated schema is committed, relative to the repository root. */
export const SWEEP_SPEC_JSON_SCHEMA_PATH = 'jobs/sweep.schema.json';

/** The JSON Schema (draft 2020-12) of a sweep spec as written, defaults optional, serialised with a final newline. */
export function buildSweepSpecJsonSchema(): string {
  const schema = z.toJSONSchema(sweepSpecObjectSchema, { target: 'draft-2020-12', io: 'input' });
  const document = {
    $schema: schema.$schema,
    title: 'bslora sweep spec',
    description:
      'A sweep: base model, data, training settings and the grid of BSLoRA configurations and baselines to run. ' +
      'Generated from control-plane/src/sweep-specs/sweep-spec.ts; see docs/sweep-spec.md.',
    ...Object.fromEntries(Object.entries(schema).filter(([k]) => k !== '$schema')),
  };
  return `${JSON.stringify(document, null, 2)}\n`;
}
