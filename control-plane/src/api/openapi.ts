/**
 * The OpenAPI 3.1 document of the REST API, generated from the route table and its zod schemas (the same objects
 * that validate requests), served at `GET /api/v1/openapi.json` and committed as docs/reference/openapi.json.
 */
import { z } from 'zod';
import { ERROR_CODES } from '../errors.js';
import type { ApiRoute } from './api-route.js';
import { apiRegistry } from './api-schemas.js';

type Json = Record<string, unknown>;

const COMPONENT_PREFIX = '#/components/schemas/';

function strip(schema: Json): Json {
  const { $schema: _s, $id: _i, ...rest } = schema;
  return rest;
}

/** A schema as JSON Schema 2020-12, with registered components as `$ref`s. */
function toSchema(schema: z.ZodType): Json {
  const id = apiRegistry.get(schema)?.id;
  if (id) return { $ref: `${COMPONENT_PREFIX}${id}` };
  return strip(z.toJSONSchema(schema, { target: 'draft-2020-12', io: 'input', unrepresentable: 'any' }) as Json);
}

function parametersOf(schema: z.ZodType | undefined, where: 'path' | 'query'): Json[] {
  if (!schema) return [];
  const json = toSchema(schema) as { properties?: Record<string, Json>; required?: string[] };
  return Object.entries(json.properties ?? {}).map(([name, s]) => {
    const { description, ...rest } = s as Json & { description?: string };
    return {
      name,
      in: where,
      required: where === 'path' || (json.required ?? []).includes(name),
      ...(description ? { description } : {}),
      schema: rest,
    };
  });
}

const errorRef = { $ref: `${COMPONENT_PREFIX}Error` };

function responseOf(
  description: string,
  schema: z.ZodType | undefined,
  contentType = 'application/json',
  headers?: Record<string, string>,
): Json {
  return {
    description,
    ...(headers
      ? {
          headers: Object.fromEntries(
            Object.entries(headers).map(([h, d]) => [h, { description: d, schema: { type: 'string' } }]),
          ),
        }
      : {}),
    content: {
      [contentType]: {
        schema: schema ? toSchema(schema) : contentType === 'application/json' ? errorRef : { type: 'string' },
      },
    },
  };
}

export function buildOpenApiDocument(routes: readonly ApiRoute[], version = '0.1.0'): Json {
  const paths: Record<string, Record<string, Json>> = {};
  for (const r of routes) {
    const path = r.url.replace(/:([A-Za-z_]+)/g, '{$1}');
    const responses: Record<string, Json> = {};
    for (const [status, res] of Object.entries(r.responses)) {
      const isError = Number(status) >= 400 && !res.schema;
      responses[status] = isError
        ? responseOf(res.description, undefined)
        : responseOf(res.description, res.schema, res.contentType, res.headers);
    }
    const common: Record<string, string> = { 500: 'unexpected error (CP_ERR_INTERNAL)' };
    if (r.query || r.params) common[400] = 'invalid parameters (CP_ERR_API_REQUEST)';
    if (r.body) {
      common[400] = r.body.schema
        ? 'the spec is invalid: every problem by path (CP_ERR_SPEC_INVALID)'
        : 'the body cannot be used';
      common[413] = 'the body is over the limit (CP_ERR_API_BODY_TOO_LARGE)';
    }
    if (r.auth === 'bearer') common[401] = 'no or wrong bearer token (CP_ERR_UNAUTHORIZED)';
    if (r.auth === 'hook-signature') common[401] = 'no or wrong X-Hub-Signature-256 (CP_ERR_HOOK_SIGNATURE)';
    for (const [status, description] of Object.entries(common))
      responses[status] ??= responseOf(description, undefined);

    paths[path] ??= {};
    paths[path][r.method.toLowerCase()] = {
      operationId: r.operationId,
      summary: r.summary,
      ...(r.description ? { description: r.description } : {}),
      tags: [r.tag],
      ...(r.auth === 'bearer' ? { security: [{ bearerAuth: [] }] } : { security: [] }),
      parameters: [
        ...parametersOf(r.params, 'path'),
        ...parametersOf(r.query, 'query'),
        ...(r.operationId === 'submitSweep' ? [idempotencyHeader] : []),
      ],
      ...(r.body
        ? {
            requestBody: {
              required: true,
              description: r.body.description,
              content: Object.fromEntries(
                r.body.contentTypes.map((t) => [
                  t,
                  { schema: r.body!.schema ? toSchema(r.body!.schema) : { type: 'object' } },
                ]),
              ),
            },
          }
        : {}),
      responses,
    };
  }

  const components = z.toJSONSchema(apiRegistry, {
    target: 'draft-2020-12',
    io: 'input',
    uri: (id) => `${COMPONENT_PREFIX}${id}`,
    unrepresentable: 'any',
  }) as {
    schemas: Record<string, Json>;
  };
  return {
    openapi: '3.1.0',
    info: {
      title: 'bslora control plane',
      version,
      description:
        'Submit and follow BSLoRA sweeps. Requests that change state need `Authorization: Bearer <token>`. Every error is ' +
        '`{"error": {"code", "message"}}` with a stable code from docs/reference/errors.md.',
    },
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    servers: [{ url: '/' }],
    tags: [
      { name: 'sweeps', description: 'submit, list, follow and cancel sweeps' },
      { name: 'workers', description: 'workers reported by agents' },
      { name: 'webhooks', description: 'outgoing webhook deliveries' },
      { name: 'hooks', description: 'incoming hooks from CI systems' },
      { name: 'meta', description: 'health, readiness, metrics and this document' },
    ],
    paths,
    components: {
      securitySchemes: {
        bearerAuth: {
          type: 'http',
          scheme: 'bearer',
          description: 'BSLORA_API_TOKEN, or the token `bslora up` prints once',
        },
      },
      schemas: Object.fromEntries(Object.entries(components.schemas).map(([id, s]) => [id, strip(s)])),
    },
    'x-error-codes': Object.fromEntries(
      Object.entries(ERROR_CODES).map(([code, e]) => [code, { httpStatus: e.httpStatus, summary: e.summary }]),
    ),
  };
}

const idempotencyHeader = {
  name: 'Idempotency-Key',
  in: 'header',
  required: false,
  description: 'any unique string (a UUID); a retry with the same key and body returns the same sweep, for 24 hours',
  schema: { type: 'string', maxLength: 255 },
};
