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

export const sweepSpecComponent = component(
  'SweepSpec',
  sweepSpecObjectSchema,
  'A sweep spec (docs/sweep-spec.md), as YAML or JSON.',
);

export const errorResponseSchema = component(
  'Error',
  z.object({
    error: z.object({
      code: z
        .enum(Object.keys(ERROR_CODES) as [keyof typeof ERROR_CODES, ...(keyof typeof ERROR_CODES)[]])
        .describe('stable code, docs/reference/errors.md'),
      message: z.string(),
      issues: z
        .array(z.object({ path: z.string(), message: z.string() }))
        .optional()
        .describe('spec problems by path (CP_ERR_SPEC_INVALID)'),
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
      .object({
        total: z.int(),
        queued: z.int(),
        running: z.int(),
        completed: z.int(),
        failed: z.int(),
        cancelled: z.int(),
      })
      .describe("the sweep's trials by status, now"),
    summary: z
      .unknown()
      .nullable()
      .describe(
        'set when the sweep ends: completed and failed counts, the LoRA baseline, expect verdicts (the per-trial rows are in getResults)',
      ),
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
    counts: z
      .record(z.string(), z.number())
      .describe(
        'trainable parameters (local, intra, inter, transform, total) and the serving footprint (adapterFileBytes, residentBytesBf16, residentBytesFp32, mergedResidentBytesBf16, mergedResidentBytesFp32, adaptersPerGib)',
      ),
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
    scale: z
      .number()
      .nullable()
      .describe('the adapter scale s (dW = s * B A) the trial trains at; null for vera and base'),
    peftName: z.string().nullable().describe('name of the grid.peft entry of a peft trial'),
    status: z.enum(TRIAL_STATUSES),
    reused: z.boolean(),
    lastError: z.string().nullable(),
    progress: z.unknown().nullable().describe('latest progress: phase, step, totalSteps, loss, etaSeconds'),
    result: trialResultSchema.nullable(),
  }),
);

export const sweepSearchSchema = component(
  'SweepSearch',
  z
    .object({
      strategy: z.literal('successive_halving'),
      eta: z.int(),
      rungSteps: z.array(z.int()).describe('the step count of each rung; the last is max_steps'),
      currentRung: z.int().describe('the rung the search is at (0-based); rungSteps.length once the sweep is over'),
      buckets: z.array(
        z.object({
          index: z.int(),
          label: z.string(),
          low: z.number(),
          high: z.number().nullable(),
          configs: z.int(),
          finalists: z.int(),
        }),
      ),
      rungs: z.array(
        z.object({
          rung: z.int(),
          steps: z.int(),
          configs: z.int(),
          kept: z.int().nullable().describe('null until the rung closes, and for the last rung'),
          stopped: z.int().nullable(),
        }),
      ),
      trials: z.array(
        z.object({
          trialKey: z.string(),
          name: z.string(),
          config: z.string(),
          bucket: z.int(),
          params: z.int(),
          rung: z.int().describe('the rung reached'),
          steps: z.int().describe("the rung's step count"),
          stopped: z.boolean(),
          validationLoss: z.array(z.number().nullable()).describe('at each rung, null where it has none'),
        }),
      ),
      compute: z.object({
        steps: z.int(),
        gridSteps: z.int(),
        stepShare: z.number(),
        seconds: z.number(),
        gridSeconds: z.number(),
        deviceHours: z.number(),
        gridDeviceHours: z.number(),
      }),
    })
    .nullable(),
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
    search: sweepSearchSchema
      .optional()
      .describe('a successive-halving search (spec `search`), as GET /sweeps/:id/search gives it; null without one'),
  }),
);

export const trialListSchema = component(
  'TrialList',
  z.object({
    sweepId: z.string(),
    trials: z.array(
      trialSchema.extend({
        plan: z
          .record(z.string(), z.unknown())
          .describe('the trial (proto Trial as JSON: method settings, data, training)'),
      }),
    ),
  }),
);

const meanIntervalSchema = component(
  'MeanInterval',
  z.object({
    n: z.int().describe('seeds'),
    mean: z.number(),
    sd: z.number().nullable().describe('sample standard deviation; null for one seed'),
    lo: z.number().nullable(),
    hi: z.number().nullable(),
    halfWidth: z.number().nullable(),
    confidence: z.number(),
  }),
  'Accuracy (0–1) over seeds: mean, standard deviation and the two-sided t interval (null bounds for one seed).',
);

const pairedDifferenceSchema = component(
  'PairedDifference',
  z.object({
    mean: z.number().describe('candidate − reference, accuracy 0–1, mean over tasks'),
    lo: z.number(),
    hi: z.number(),
    confidence: z.number(),
    items: z.int(),
    seeds: z.object({ candidate: z.int(), reference: z.int() }),
    replicates: z.int(),
  }),
  'A paired difference on the same eval items with its percentile bootstrap interval over items and seeds.',
);

const comparisonSchema = z.object({
  versus: z.string(),
  mean: pairedDifferenceSchema.nullable(),
  tasks: z.record(z.string(), pairedDifferenceSchema.nullable()),
  reason: z.string().nullable().describe('why mean is null'),
});

export const configurationResultsSchema = component(
  'ConfigurationResults',
  z.object({
    confidence: z.number(),
    reference: z.string().nullable().describe('the configuration paired differences are taken against'),
    configurations: z.array(
      z.object({
        configKey: z.string().describe('sha256 prefix of the trial plan without its seed'),
        name: z.string().describe('trial name without -s<seed>'),
        method: z.string(),
        rank: z.int().nullable(),
        ranks: z.object({ local: z.int(), intra: z.int(), inter: z.int() }).nullable(),
        shareMode: z.enum(SHARE_MODES).nullable(),
        kronShareSize: z.int().nullable(),
        gateShareSize: z.int().nullable(),
        sharingRatio: z.number().nullable().describe('ρ = (intra + inter) / (local + intra + inter)'),
        intraFraction: z.number().nullable().describe('φ = intra / (intra + inter)'),
        trainable: z.number().nullable(),
        seeds: z.array(z.int()),
        trialKeys: z.array(z.string()),
        planned: z.int(),
        tasks: z.record(z.string(), meanIntervalSchema),
        mean: meanIntervalSchema.nullable().describe('per seed the mean over tasks, then over seeds'),
        vsReference: comparisonSchema.nullable(),
        onFront: z.boolean().describe('on the Pareto front of configuration means'),
        frontNoise: z
          .object({ versus: z.string(), diff: pairedDifferenceSchema.nullable(), withinNoise: z.boolean() })
          .nullable()
          .describe(
            'for a front point: its difference to the best cheaper configuration, and whether that is within the noise',
          ),
      }),
    ),
  }),
  'Configuration-level results (docs/statistics.md): one row per configuration (a trial without its seed).',
);

export const comparisonResponseSchema = component(
  'Comparison',
  z.object({
    sweeps: z.array(z.object({ id: z.string(), name: z.string(), status: z.enum(SWEEP_STATUSES), trials: z.int() })),
    baseModel: z.string(),
    evalTasks: z.array(z.string()),
    evalLimit: z.int().nullable(),
    trials: z.int().describe('trials in all, each once (a trial several sweeps share counts once)'),
    configurations: configurationResultsSchema,
  }),
  'Several sweeps with the same base model, eval tasks and eval limit combined into configuration-level results.',
);

export const comparisonQuerySchema = z.object({
  sweeps: z.string().min(1).max(4000).describe('comma-separated sweep ids (at most 50)'),
  reference: z
    .string()
    .max(300)
    .optional()
    .describe('configuration that paired differences are taken against; default: the largest LoRA'),
});

export const sweepConfigurationsSchema = component(
  'SweepConfigurations',
  z.object({
    sweepId: z.string(),
    status: z.enum(SWEEP_STATUSES),
    configurations: configurationResultsSchema,
  }),
  "A sweep's configuration-level results alone: what the results document carries under `configurations`, without its trial rows.",
);

export const configurationsQuerySchema = z.object({
  reference: referenceQueryField(),
});

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
    configurations: configurationResultsSchema,
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
            ranks: z
              .object({ local: z.int(), intra: z.int(), inter: z.int() })
              .nullable()
              .describe('BSLoRA rank triple'),
            shareMode: z.enum(SHARE_MODES).nullable(),
            kronShareSize: z.int().nullable(),
            gateShareSize: z.int().nullable(),
            scale: z.number().nullable().describe('the adapter scale s (dW = s * B A); null for vera and base'),
            peftName: z.string().nullable().describe('name of the grid.peft entry of a peft trial'),
            seed: z.int(),
          })
          .describe('the grid coordinates that tell trials apart; the whole plan with ?include=plan'),
        counts: z
          .record(z.string(), z.number())
          .nullable()
          .describe(
            'trainable parameters (local, intra, inter, transform, total) and the serving footprint (adapterFileBytes, residentBytesBf16, residentBytesFp32, mergedResidentBytesBf16, mergedResidentBytesFp32, adaptersPerGib)',
          ),
        accuracy: z.record(z.string(), z.number()).nullable().describe('accuracy per eval task (0–1)'),
        plan: z
          .record(z.string(), z.unknown())
          .optional()
          .describe('with ?include=plan: the trial (proto Trial as JSON)'),
        result: trialResultSchema.nullable().optional().describe('with ?include=result: the whole recorded result'),
      }),
    ),
  }),
  "A sweep's results: the table, the Pareto front and the expect verdicts (CSV with ?format=csv).",
);

const nullableNumbers = z.array(z.number().nullable());

export const sweepResultColumnsSchema = component(
  'SweepResultColumns',
  z.object({
    sweepId: z.string(),
    eventId: z
      .string()
      .describe('the last live event this table includes: GET …/events?since=<eventId> follows on from it'),
    sweep: z.object({
      id: z.string(),
      name: z.string(),
      status: z.enum(SWEEP_STATUSES),
      createdAt: z.string(),
      finishedAt: z.string().nullable(),
      description: z.string().nullable(),
    }),
    status: z.enum(SWEEP_STATUSES),
    loraBaseline: z.string().nullable(),
    completed: z.int(),
    failed: z.int(),
    expect: z.array(expectVerdictSchema),
    expectPassed: z.boolean().nullable(),
    tasks: z.array(z.string()).describe("eval tasks, in the spec's order"),
    trials: z
      .object({
        trialKey: z.array(z.string()),
        name: z.array(z.string()),
        method: z.array(z.string()),
        status: z.array(z.enum(TRIAL_STATUSES)),
        trainable: nullableNumbers,
        finalLoss: nullableNumbers,
        meanAcc: nullableNumbers,
        loraShare: nullableNumbers,
        accDelta: nullableNumbers,
        onFront: z.array(z.boolean()),
        reused: z.array(z.boolean()),
        lastError: z.array(z.string().nullable()),
        rank: z.array(z.int().nullable()),
        ranks: z.array(z.object({ local: z.int(), intra: z.int(), inter: z.int() }).nullable()),
        shareMode: z.array(z.enum(SHARE_MODES).nullable()),
        kronShareSize: z.array(z.int().nullable()),
        gateShareSize: z.array(z.int().nullable()),
        scale: nullableNumbers.describe('the adapter scale s (dW = s * B A) of each trial; null for vera and base'),
        seed: z.array(z.int()),
        accuracy: z.record(z.string(), nullableNumbers).describe('per eval task'),
      })
      .describe("one array per field; index i is the sweep's i-th trial in plan order"),
  }),
  "A sweep's results table in columns (GET results?format=columns): what the dashboard's first screen needs.",
);

export const trialDetailSchema = component(
  'TrialDetail',
  trialSchema.extend({ plan: z.record(z.string(), z.unknown()) }),
  'One trial with its plan.',
);

export const submitResponseSchema = component(
  'SubmitResponse',
  z.object({ id: z.string(), trials: z.int(), reused: z.int().describe('trials whose finished results were reused') }),
);

export const cancelResponseSchema = component(
  'CancelResponse',
  z.object({ id: z.string(), status: z.enum(SWEEP_STATUSES) }),
);

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
    devices: z.array(
      z.object({ name: z.string(), kind: z.string(), totalMemoryBytes: z.number(), freeMemoryBytes: z.number() }),
    ),
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
    sweep: z.object({
      id: z.string(),
      name: z.string(),
      status: z.string(),
      createdAt: z.string(),
      finishedAt: z.string().nullable(),
      source: z.unknown(),
    }),
    summary: z.object({
      trials: z.int(),
      completed: z.int(),
      failed: z.int(),
      loraBaseline: z.string().nullable(),
      front: z.array(z.string()),
      expectPassed: z.boolean().nullable(),
      expect: z.array(z.object({ name: z.string(), passed: z.boolean(), message: z.string() })),
      reference: z.string().nullable().describe('the configuration paired differences are taken against'),
      configurations: z
        .array(
          z.object({
            name: z.string(),
            seeds: z.int(),
            trainable: z.number().nullable(),
            mean: z.number().nullable(),
            lo: z.number().nullable(),
            hi: z.number().nullable(),
            diff: z.object({ mean: z.number(), lo: z.number(), hi: z.number() }).nullable(),
          }),
        )
        .describe(
          'per configuration: seed-mean accuracy (0–1) with its 95 % t interval, and the paired difference to reference with its bootstrap interval',
        ),
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
    checks: z.object({
      redis: z.object({ ok: z.boolean(), message: z.string().optional() }),
      store: z.object({ ok: z.boolean() }),
    }),
    error: z
      .object({ code: z.literal('CP_ERR_NOT_READY'), message: z.string() })
      .optional()
      .describe('set when not ready'),
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

export const listSweepsQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(50).describe('page size, 1-500'),
  offset: z.coerce.number().int().min(0).default(0).describe('skip this many (ignored with cursor)'),
  cursor: z.string().optional().describe('nextCursor of the previous page'),
  status: z.enum(SWEEP_STATUSES).optional(),
});

function referenceQueryField() {
  return z
    .string()
    .max(300)
    .optional()
    .describe(
      'configuration name (trial name without -s<seed>) that paired differences are taken against; default: the largest LoRA',
    );
}

export const resultsQuerySchema = z.object({
  format: z
    .enum(['json', 'csv', 'columns'])
    .default('json')
    .describe(
      'csv: one row per trial, RFC 4180; columns: the table as one array per field (SweepResultColumns), with the eventId to follow live events from',
    ),
  include: z
    .string()
    .regex(/^(plan|result)(,(plan|result))*$/, "a comma-separated list of 'plan' and 'result'")
    .optional()
    .describe("JSON only: add each trial's whole plan and/or recorded result (train report, metrics) to its row"),
  reference: referenceQueryField(),
});

export const sweepEventsQuerySchema = z.object({
  since: z
    .string()
    .max(64)
    .optional()
    .describe(
      "resume after this event id (as Last-Event-ID does; the header wins): the eventId of ?format=columns, or an event's id",
    ),
});

export const trialParamsSchema = z.object({
  id: z.string().min(1).max(128),
  trialKey: z.string().regex(/^[0-9a-f]{1,128}$/, 'a trial key: lower-case hex'),
});

export const submitQuerySchema = z.object({
  base: z
    .string()
    .max(4096)
    .optional()
    .describe(
      'folder that relative paths in the spec resolve against (on the control plane); must lie under its data roots (default: the first data root)',
    ),
});

export const githubHookQuerySchema = z.object({
  spec: z.string().optional().describe('spec file under jobs/ (overrides BSLORA_GITHUB_HOOK_SPEC)'),
});
