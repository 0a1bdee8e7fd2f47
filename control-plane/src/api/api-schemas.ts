/**
 * The REST API's schemas, in zod: requests are validated with them and the OpenAPI document (`openapi.ts`) is
 * generated from them, so the two cannot drift. Response schemas are checked against real responses in tests.
 */
import { z } from 'zod';
import { ERROR_CODES } from '../errors.js';
import { SWEEP_STATUSES, TRIAL_STATUSES } from '../store/statuses.js';
import { NOTIFY_EVENTS, SHARE_MODES, sweepSpecObjectSchema } from '../sweep-specs/index.js';

/** Components of the OpenAPI document: every schema registered here gets `#/components/schemas/<id>`. */
export const apiRegistry = z.registry<{ id: string; description?: string }>();

function component<T extends z.ZodType>(id: string, schema: T, description?: string): T {
  apiRegistry.add(schema, { id, ...(description ? { description } : {}) });
  return schema;
}

export const sweepSpecComponent = component('SweepSpec', sweepSpecObjectSchema, 'A sweep spec (docs/sweep-spec.md), as YAML or JSON.');

export const errorResponseSchema = component(
  'Error',
  z.object({
    error: z.object({
      code: z.enum(Object.keys(ERROR_CODES) as [keyof typeof ERROR_CODES, ...(keyof typeof ERROR_CODES)[]]).describe('stable code, docs/reference/errors.md'),
      message: z.string(),
      issues: z.array(z.object({ path: z.string(), message: z.string() })).optional().describe('spec problems by path (CP_ERR_SPEC_INVALID)'),
    }),
  }),
  'Every error: a stable code and a message.',
);

export const sweepSourceSchema = component(
  'SweepSource',
  z.object({
    kind: z.literal('github'),
    event: z.string(),
    deliveryId: z.string().nullable(),
    repository: z.string().nullable(),
    ref: z.string().nullable(),
    sha: z.string().nullable().describe('the commit the hook came from'),
    spec: z.string().describe('the spec file under jobs/'),
  }),
  'Where a sweep submitted by an incoming hook came from.',
);

const expectVerdictSchema = component(
  'ExpectVerdict',
  z.object({
    index: z.int(),
    name: z.string(),
    passed: z.boolean(),
    message: z.string(),
    best: z.object({ config: z.string(), value: z.number(), paramShare: z.number().nullable() }).nullable(),
    target: z.number().nullable(),
  }),
  "One `expect` rule's verdict.",
);

export const sweepItemSchema = component(
  'SweepItem',
  z.object({
    id: z.string(),
    name: z.string(),
    status: z.enum(SWEEP_STATUSES),
    createdAt: z.string(),
    finishedAt: z.string().nullable(),
    trials: z
      .object({ total: z.int(), queued: z.int(), running: z.int(), completed: z.int(), failed: z.int(), cancelled: z.int() })
      .describe("the sweep's trials by status, now"),
    summary: z
      .unknown()
      .nullable()
      .describe('set when the sweep ends: completed and failed counts, the LoRA baseline, expect verdicts (the per-trial rows are in getResults)'),
    source: sweepSourceSchema.nullable().optional(),
  }),
  'A sweep in a list.',
);

export const sweepListSchema = component(
  'SweepList',
  z.object({
    sweeps: z.array(sweepItemSchema),
    limit: z.int(),
    offset: z.int(),
    total: z.int().describe('sweeps matching the filter'),
    nextCursor: z.string().nullable().describe('pass as ?cursor= for the next page; null on the last page'),
    next: z.string().nullable().describe('the next page as a relative URL; also in the Link header'),
  }),
);

const metricSchema = z.object({ acc: z.number(), accNorm: z.number(), n: z.int() });

export const trialResultSchema = component(
  'TrialResult',
  z.object({
    counts: z.record(z.string(), z.number()).describe('trainable parameters: local, intra, inter, transform, total'),
    initialLoss: z.number().nullable(),
    finalLoss: z.number().nullable(),
    train: z.record(z.string(), z.unknown()).describe('the worker report: steps, wall time, device, versions'),
    metrics: z.record(z.string(), metricSchema).nullable().describe('per eval task'),
    meanAcc: z.number().nullable(),
    adapterSha256: z.string().nullable(),
    recordedAt: z.string(),
  }),
);

export const trialSchema = component(
  'Trial',
  z.object({
    trialKey: z.string(),
    name: z.string(),
    method: z.string(),
    status: z.enum(TRIAL_STATUSES),
    reused: z.boolean(),
    lastError: z.string().nullable(),
    progress: z.unknown().nullable().describe('latest progress: phase, step, totalSteps, loss, etaSeconds'),
    result: trialResultSchema.nullable(),
  }),
);

export const sweepDetailSchema = component(
  'SweepDetail',
  z.object({
    id: z.string(),
    name: z.string(),
    status: z.enum(SWEEP_STATUSES),
    createdAt: z.string(),
    finishedAt: z.string().nullable(),
    spec: z.unknown().describe('the validated spec, defaults applied'),
    summary: z.unknown().nullable(),
    source: sweepSourceSchema.nullable().optional(),
    trials: z.array(trialSchema),
  }),
);

export const trialListSchema = component(
  'TrialList',
  z.object({
    sweepId: z.string(),
    trials: z.array(trialSchema.extend({ plan: z.record(z.string(), z.unknown()).describe('the trial (proto Trial as JSON: method settings, data, training)') })),
  }),
);

export const sweepResultsSchema = component(
  'SweepResults',
  z.object({
    sweepId: z.string(),
    status: z.enum(SWEEP_STATUSES),
    loraBaseline: z.string().nullable().describe('the largest-rank LoRA baseline that shares are relative to'),
    completed: z.int(),
    failed: z.int(),
    expect: z.array(expectVerdictSchema),
    expectPassed: z.boolean().nullable().describe('null when the spec has no expect rules'),
    trials: z.array(
      z.object({
        trialKey: z.string(),
        name: z.string(),
        method: z.string(),
        status: z.string(),
        trainable: z.number().nullable(),
        finalLoss: z.number().nullable(),
        meanAcc: z.number().nullable(),
        loraShare: z.number().nullable(),
        accDelta: z.number().nullable(),
        onFront: z.boolean(),
        config: z
          .object({
            rank: z.int().nullable().describe('LoRA / VeRA rank'),
            ranks: z.object({ local: z.int(), intra: z.int(), inter: z.int() }).nullable().describe('BSLoRA rank triple'),
            shareMode: z.enum(SHARE_MODES).nullable(),
            kronShareSize: z.int().nullable(),
            gateShareSize: z.int().nullable(),
            seed: z.int(),
          })
          .describe('the grid coordinates that tell trials apart; the whole plan with ?include=plan'),
        counts: z.record(z.string(), z.number()).nullable().describe('trainable parameters: local, intra, inter, transform, total'),
        accuracy: z.record(z.string(), z.number()).nullable().describe('accuracy per eval task (0–1)'),
        plan: z.record(z.string(), z.unknown()).optional().describe('with ?include=plan: the trial (proto Trial as JSON)'),
        result: trialResultSchema.nullable().optional().describe('with ?include=result: the whole recorded result'),
      }),
    ),
  }),
  "A sweep's results: the table, the Pareto front and the expect verdicts (CSV with ?format=csv).",
);

export const submitResponseSchema = component(
  'SubmitResponse',
  z.object({ id: z.string(), trials: z.int(), reused: z.int().describe('trials whose finished results were reused') }),
);

export const cancelResponseSchema = component('CancelResponse', z.object({ id: z.string(), status: z.enum(SWEEP_STATUSES) }));

export const workerSchema = component(
  'Worker',
  z.object({
    id: z.string().describe('the worker id from Describe (host:pid)'),
    agentId: z.string(),
    host: z.string(),
    device: z.string(),
    address: z.string(),
    pid: z.int().nullable(),
    status: z.enum(['serving', 'unreachable']),
    capacity: z.int(),
    devices: z.array(z.object({ name: z.string(), kind: z.string(), totalMemoryBytes: z.number(), freeMemoryBytes: z.number() })),
    versions: z.record(z.string(), z.string()),
    residentModels: z.array(z.string()),
    heldAdapters: z.int(),
    lastSeen: z.string(),
    error: z.string().nullable(),
  }),
  "A worker as its agent's last heartbeat describes it.",
);

export const workerListSchema = component('WorkerList', z.object({ workers: z.array(workerSchema) }));

export const webhookDeliveriesSchema = component(
  'WebhookDeliveries',
  z.object({
    sweepId: z.string(),
    deliveries: z.array(
      z.object({
        deliveryId: z.string(),
        url: z.string(),
        event: z.string(),
        attempt: z.int(),
        statusCode: z.int().nullable(),
        ok: z.boolean(),
        error: z.string().nullable(),
        durationMs: z.number(),
        at: z.string(),
      }),
    ),
  }),
  "Every delivery attempt of a sweep's outgoing webhooks.",
);

export const webhookPayloadSchema = component(
  'WebhookPayload',
  z.object({
    event: z.enum(NOTIFY_EVENTS.map((e) => `sweep.${e}`) as [string, ...string[]]),
    deliveryId: z.string(),
    sweep: z.object({ id: z.string(), name: z.string(), status: z.string(), createdAt: z.string(), finishedAt: z.string().nullable(), source: z.unknown() }),
    summary: z.object({
      trials: z.int(),
      completed: z.int(),
      failed: z.int(),
      loraBaseline: z.string().nullable(),
      front: z.array(z.string()),
      expectPassed: z.boolean().nullable(),
      expect: z.array(z.object({ name: z.string(), passed: z.boolean(), message: z.string() })),
    }),
    links: z.object({ sweep: z.string(), results: z.string() }),
  }),
  'The body of an outgoing webhook (POST, signed in X-Bslora-Signature).',
);

export const healthSchema = component('Health', z.object({ status: z.literal('ok') }));
export const readySchema = component(
  'Ready',
  z.object({
    status: z.enum(['ready', 'not_ready']),
    checks: z.object({ redis: z.object({ ok: z.boolean(), message: z.string().optional() }), store: z.object({ ok: z.boolean() }) }),
    error: z.object({ code: z.literal('CP_ERR_NOT_READY'), message: z.string() }).optional().describe('set when not ready'),
  }),
);

export const githubHookResponseSchema = component(
  'GithubHookResponse',
  z.object({
    accepted: z.boolean(),
    sweepId: z.string().optional(),
    sha: z.string().nullable().optional(),
    reason: z.string().optional().describe('why an event was ignored'),
  }),
);

// Requests.

export const sweepIdParamsSchema = z.object({ id: z.string().min(1).describe('sweep id') });

export const trialKeyParamsSchema = z.object({ id: z.string().min(1).describe('sweep id'), key: z.string().min(1).describe('trial key (sha256 hex)') });

export const listSweepsQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(50).describe('page size, 1-500'),
  offset: z.coerce.number().int().min(0).default(0).describe('skip this many (ignored with cursor)'),
  cursor: z.string().optional().describe('nextCursor of the previous page'),
  status: z.enum(SWEEP_STATUSES).optional(),
});

export const resultsQuerySchema = z.object({
  format: z.enum(['json', 'csv']).default('json').describe('csv: one row per trial, RFC 4180'),
  include: z
    .string()
    .regex(/^(plan|result)(,(plan|result))*$/, "a comma-separated list of 'plan' and 'result'")
    .optional()
    .describe('JSON only: add each trial\'s whole plan and/or recorded result (train report, metrics) to its row'),
});

export const submitQuerySchema = z.object({
  base: z.string().optional().describe('folder that relative paths in the spec resolve against (on the control plane)'),
});

export const githubHookQuerySchema = z.object({
  spec: z.string().optional().describe('spec file under jobs/ (overrides BSLORA_GITHUB_HOOK_SPEC)'),
});
