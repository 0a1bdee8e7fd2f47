import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildOpenApiDocument } from './openapi.js';
import { API_ROUTES } from './routes.js';
import { OPENAPI_DOC_PATH, renderOpenApiDocument } from './write-openapi-document.js';

type Json = Record<string, unknown>;

function refsIn(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) value.forEach((v) => refsIn(v, out));
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === '$ref' && typeof v === 'string') out.push(v);
      else refsIn(v, out);
    }
  }
  return out;
}

describe('OpenAPI document', () => {
  const doc = buildOpenApiDocument(API_ROUTES) as Json & {
    paths: Record<string, Record<string, Json>>;
    components: { schemas: Json };
  };

  it('is OpenAPI 3.1 with every route of the table, by operationId', () => {
    expect(doc.openapi).toBe('3.1.0');
    const ops = Object.values(doc.paths).flatMap((p) => Object.values(p).map((o) => o.operationId));
    expect(ops.sort()).toEqual(API_ROUTES.map((r) => r.operationId).sort());
    expect(Object.keys(doc.paths)).toContain('/api/v1/sweeps/{id}/events');
  });

  it('resolves every $ref to a component', () => {
    for (const ref of refsIn(doc)) {
      expect(ref.startsWith('#/components/schemas/'), ref).toBe(true);
      expect(doc.components.schemas, ref).toHaveProperty(ref.slice('#/components/schemas/'.length));
    }
  });

  it('documents the sweep spec body, bearer auth on state changes and the error shape', () => {
    const submit = doc.paths['/api/v1/sweeps'].post as Json & {
      requestBody: { content: Record<string, { schema: Json }> };
      responses: Json;
    };
    expect(submit.requestBody.content['application/yaml'].schema).toEqual({ $ref: '#/components/schemas/SweepSpec' });
    expect(submit.security).toEqual([{ bearerAuth: [] }]);
    expect(Object.keys(submit.responses)).toEqual(
      expect.arrayContaining(['200', '201', '400', '401', '409', '413', '415']),
    );
    expect((doc.paths['/api/v1/hooks/github'].post as Json).security).toEqual([]);
    expect(doc.components.schemas).toHaveProperty('Error');
    expect((doc.components.schemas as Record<string, Json>).SweepSpec.properties).toHaveProperty('grid');
  });

  it('is committed fresh as docs/reference/openapi.json', () => {
    expect(
      readFileSync(OPENAPI_DOC_PATH, 'utf8'),
      'run: npx tsx control-plane/src/api/write-openapi-document.ts',
    ).toBe(renderOpenApiDocument());
  });
});
