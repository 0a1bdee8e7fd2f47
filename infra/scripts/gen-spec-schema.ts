/**
 * Regenerates jobs/sweep.schema.json from the zod sweep-spec schema.
 *
 *   npx tsx infra/scripts/gen-spec-schema.ts          # write it
 *   npx tsx infra/scripts/gen-spec-schema.ts --check  # exit 1 when the committed file is stale
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import {
  SWEEP_SPEC_JSON_SCHEMA_PATH,
  buildSweepSpecJsonSchema,
} from '../../control-plane/src/sweep-specs/sweep-spec-json-schema.js';

const target = fileURLToPath(new URL(`../../${SWEEP_SPEC_JSON_SCHEMA_PATH}`, import.meta.url));
const fresh = buildSweepSpecJsonSchema();

if (process.argv.includes('--check')) {
  let committed = '';
  try {
    committed = readFileSync(target, 'utf8');
  } catch {
    // missing counts as stale
  }
  if (committed !== fresh) {
    console.error(`${SWEEP_SPEC_JSON_SCHEMA_PATH} is stale; run: npx tsx infra/scripts/gen-spec-schema.ts`);
    process.exit(1);
  }
  console.log(`${SWEEP_SPEC_JSON_SCHEMA_PATH} is up to date`);
} else {
  writeFileSync(target, fresh);
  console.log(`wrote ${SWEEP_SPEC_JSON_SCHEMA_PATH}`);
}
