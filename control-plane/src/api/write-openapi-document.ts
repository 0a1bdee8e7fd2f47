/**
 * Writes the OpenAPI document to docs/reference/openapi.json (the REST reference), or checks that it is fresh.
 *
 *   npx tsx control-plane/src/api/write-openapi-document.ts           # write it
 *   npx tsx control-plane/src/api/write-openapi-document.ts --check   # exit 1 when the committed file is stale
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { buildOpenApiDocument } from './openapi.js';
import { API_ROUTES } from './routes.js';

export const OPENAPI_DOC_PATH = fileURLToPath(new URL('../../../docs/reference/openapi.json', import.meta.url));

export function renderOpenApiDocument(): string {
  return `${JSON.stringify(buildOpenApiDocument(API_ROUTES), null, 2)}\n`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const fresh = renderOpenApiDocument();
  if (process.argv.includes('--check')) {
    let committed = '';
    try {
      committed = readFileSync(OPENAPI_DOC_PATH, 'utf8');
    } catch {
      // missing counts as stale
    }
    if (committed !== fresh) {
      console.error(
        'docs/reference/openapi.json is stale; run: npx tsx control-plane/src/api/write-openapi-document.ts',
      );
      process.exit(1);
    }
  } else {
    writeFileSync(OPENAPI_DOC_PATH, fresh);
    console.log('wrote docs/reference/openapi.json');
  }
}
