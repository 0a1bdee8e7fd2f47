/** The route table of the REST API: every endpoint with its schemas, auth and handler, in one place. */
import { z } from 'zod';
import { defineRoute, type ApiRoute } from './api-route.js';
import {
  cancelResponseSchema,
  githubHookQuerySchema,
  githubHookResponseSchema,
  healthSchema,
  listSweepsQuerySchema,
  readySchema,
  resultsQuerySchema,
  submitQuerySchema,
  submitResponseSchema,
  sweepDetailSchema,
  sweepSearchSchema,
  sweepIdParamsSchema,
  sweepListSchema,
  sweepResultsSchema,
  sweepConfigurationsSchema,
  configurationsQuerySchema,
  sweepEventsQuerySchema,
  comparisonQuerySchema,
  comparisonResponseSchema,
  sweepSpecComponent,
  trialDetailSchema,
  trialListSchema,
  trialParamsSchema,
  webhookDeliveriesSchema,
  workerListSchema,
} from './api-schemas.js';
import { getReadyHandler } from './handlers/get-health.js';
import { getMetricsHandler } from './handlers/get-metrics.js';
import { getSweepEventsHandler } from './handlers/get-sweep-events.js';
import { getTrialAdapterHandler } from './handlers/get-trial-adapter.js';
import { getWorkersHandler } from './handlers/get-workers.js';
import { listSweepsHandler } from './handlers/list-sweeps.js';
import { postGithubHookHandler } from './handlers/post-github-hook.js';
import { postSweepHandler, SPEC_CONTENT_TYPES } from './handlers/post-sweep.js';
import { PROMETHEUS_CONTENT_TYPE } from './prometheus-text.js';
import { resultsCsv } from './results-csv.js';
import { configurationResults } from '../stats/configuration-results.js';
import { itemsOfRows } from '../store/item-correctness.js';
import { compareSweeps } from '../stats/compare-sweeps.js';
import {
  RESULTS_INCLUDES,
  referenceOr400,
  sweepDetail,
  sweepSearch,
  sweepOr404,
  sweepResultColumns,
  sweepResults,
  sweepConfigurations,
  sweepTrial,
  sweepTrials,
} from './sweep-views.js';
import { sendJsonView, sendView } from './view-cache.js';
import { summarizeSweep } from '../recorder/summarize-sweep.js';

const notFound = { 404: { description: 'no sweep has that id (CP_ERR_SWEEP_NOT_FOUND)' } };

export const API_ROUTES: ApiRoute[] = [
  defineRoute({
    method: 'POST',
    url: '/api/v1/sweeps',
    operationId: 'submitSweep',
    summary: 'Submit a sweep',
    description:
      'Validates the spec completely (every problem named by its path, YAML syntax errors by line and column) and queues its trials; ' +
      'nothing is queued when it is invalid. With `Idempotency-Key`, a retry with the same body returns the first sweep (200) and a ' +
      'reuse with another body is refused (409).',
    tag: 'sweeps',
    auth: 'bearer',
    query: submitQuerySchema,
    body: {
      contentTypes: Object.keys(SPEC_CONTENT_TYPES),
      schema: sweepSpecComponent,
      description: 'the sweep spec, YAML or JSON',
    },
    responses: {
      201: { description: 'queued', schema: submitResponseSchema },
      200: {
        description: 'a replay of an earlier request with the same Idempotency-Key and body',
        schema: submitResponseSchema,
        headers: { 'Idempotent-Replayed': 'true' },
      },
      409: { description: 'the Idempotency-Key was used with another body (CP_ERR_IDEMPOTENCY_KEY_REUSED)' },
      415: { description: 'the Content-Type is not YAML or JSON (CP_ERR_API_MEDIA_TYPE)' },
    },
    handler: ({ query, req, reply, ctx }) => postSweepHandler(query, req, reply, ctx),
  }),
  defineRoute({
    method: 'GET',
    url: '/api/v1/sweeps',
    operationId: 'listSweeps',
    summary: 'List sweeps, newest first',
    description: 'Paged: follow `next` (or the `Link: rel="next"` header) until it is null.',
    tag: 'sweeps',
    auth: 'none',
    query: listSweepsQuerySchema,
    responses: {
      200: { description: 'one page', schema: sweepListSchema, headers: { Link: '<next page>; rel="next"' } },
    },
    handler: async ({ query, req, reply, ctx }) => listSweepsHandler(query, req, reply, ctx),
  }),
  defineRoute({
    method: 'GET',
    url: '/api/v1/sweeps/:id',
    operationId: 'getSweep',
    summary: 'Get a sweep with its trials and their live progress',
    tag: 'sweeps',
    auth: 'none',
    params: sweepIdParamsSchema,
    responses: { 200: { description: 'the sweep', schema: sweepDetailSchema }, ...notFound },
    handler: async ({ params, req, reply, ctx }) => {
      // Cached like results (the detail is built from every trial's stored result, so it grows with the sweep); the
      // live progress is not in the store, so its version is part of the stamp.
      const build = () => sweepDetail(ctx.cp, params.id);
      return sendJsonView(req, reply, ctx.viewCache, `detail:${params.id}`, build, {
        alsoDependsOn: String(ctx.cp.progress.version),
      });
    },
  }),
  defineRoute({
    method: 'GET',
    url: '/api/v1/sweeps/:id/search',
    operationId: 'getSweepSearch',
    summary:
      "Get a searched sweep's successive halving: rungs, budget buckets, stopped trials, compute against the grid",
    description:
      "null for a sweep without a `search` block. Compute: the train steps the search needed (no step runs twice) against the full grid's (trials × max_steps), and seconds and device-hours from each trial's measured seconds per step.",
    tag: 'sweeps',
    auth: 'none',
    params: sweepIdParamsSchema,
    responses: { 200: { description: 'the search, or null', schema: sweepSearchSchema }, ...notFound },
    handler: async ({ params, ctx }) => sweepSearch(ctx.cp, params.id),
  }),
  defineRoute({
    method: 'GET',
    url: '/api/v1/sweeps/:id/trials',
    operationId: 'listTrials',
    summary: "List a sweep's trials with their plans, status, progress and results",
    tag: 'sweeps',
    auth: 'none',
    params: sweepIdParamsSchema,
    responses: { 200: { description: 'the trials, in plan order', schema: trialListSchema }, ...notFound },
    handler: async ({ params, ctx }) => sweepTrials(ctx.cp, params.id),
  }),
  defineRoute({
    method: 'GET',
    url: '/api/v1/sweeps/:id/trials/:trialKey',
    operationId: 'getTrial',
    summary: 'Get one trial of a sweep with its plan, status, progress and result',
    description:
      'What the dashboard loads when a point or row is hovered: the plan and the per-task metrics are not in the columns view.',
    tag: 'sweeps',
    auth: 'none',
    params: trialParamsSchema,
    responses: {
      200: { description: 'the trial', schema: trialDetailSchema },
      404: { description: 'no such sweep (CP_ERR_SWEEP_NOT_FOUND) or trial in it (CP_ERR_TRIAL_NOT_FOUND)' },
    },
    handler: async ({ params, ctx }) => sweepTrial(ctx.cp, params.id, params.trialKey),
  }),
  defineRoute({
    method: 'GET',
    url: '/api/v1/sweeps/:id/trials/:trialKey/adapter',
    operationId: 'getTrialAdapter',
    summary: "Download a trial's trained adapter",
    description:
      'A tar of the PEFT `save_pretrained` directory the worker wrote (adapter_config.json, adapter_model.safetensors), byte for byte as ' +
      'stored; `X-Adapter-Sha256` is its sha256. `PeftModel.from_pretrained` loads the unpacked directory (`import bslora` first for a ' +
      'BSLoRA adapter). `bslora adapter get` adds a model card.',
    tag: 'sweeps',
    auth: 'none',
    params: trialParamsSchema,
    responses: {
      200: {
        description: 'the adapter archive',
        contentType: 'application/x-tar',
        headers: { 'X-Adapter-Sha256': 'sha256 hex of the archive' },
      },
      404: {
        description:
          'no such sweep (CP_ERR_SWEEP_NOT_FOUND) or trial (CP_ERR_TRIAL_NOT_FOUND), or the trial has no adapter (CP_ERR_ADAPTER_NOT_FOUND: the base model, an unfinished trial)',
      },
    },
    handler: async ({ params, reply, ctx }) => getTrialAdapterHandler(params.id, params.trialKey, reply, ctx),
  }),
  defineRoute({
    method: 'GET',
    url: '/api/v1/sweeps/:id/results',
    operationId: 'getResults',
    summary: "Get a sweep's results: table, Pareto front, share of the LoRA baseline, expect verdicts",
    tag: 'sweeps',
    auth: 'none',
    params: sweepIdParamsSchema,
    query: resultsQuerySchema,
    responses: {
      200: {
        description:
          'results as JSON (one table row per trial; whole plans and results with ?include=plan,result), CSV with ?format=csv (contentType text/csv), ' +
          'or the table in columns with ?format=columns (schema SweepResultColumns)',
        schema: sweepResultsSchema,
      },
      ...notFound,
    },
    handler: async ({ params, query, req, reply, ctx }) => {
      // Both bodies are served from ctx.viewCache (rebuilt after any store write; ETag, gzip) when it is enabled.
      if (query.format === 'csv') {
        const csv = () => {
          sweepOr404(ctx.cp, params.id);
          const rows = ctx.cp.store.trialsOfSweep(params.id);
          const configurations = configurationResults(rows, itemsOfRows(ctx.cp.store.db, rows), {
            reference: referenceOr400(rows, query.reference),
          });
          return resultsCsv(rows, summarizeSweep(rows), configurations);
        };
        reply.header(
          'content-disposition',
          `attachment; filename="${params.id.replace(/[^A-Za-z0-9._-]/g, '_')}.csv"`,
        );
        const type = 'text/csv; charset=utf-8';
        const ref = query.reference === undefined ? '' : `:ref=${query.reference}`;
        return ctx.viewCache
          ? sendView(req, reply, ctx.viewCache.get(`csv:${params.id}${ref}`, csv), type)
          : reply.type(type).send(csv());
      }
      if (query.format === 'columns') {
        // The event id is read when the view is built: a cached copy names an older id, and every event after it
        // that changed the table also changed the store (and so rebuilt the view), so following on from it is exact.
        return sendJsonView(req, reply, ctx.viewCache, `columns:${params.id}`, () =>
          sweepResultColumns(ctx.cp, params.id, ctx.events.lastId()),
        );
      }
      // `include=result,plan` and `plan,result` are one view: the list is normalised before it keys the cache.
      const include = RESULTS_INCLUDES.filter((part) => query.include?.split(',').includes(part));
      const ref = query.reference === undefined ? '' : `:ref=${query.reference}`;
      return sendJsonView(req, reply, ctx.viewCache, `json:${include.join(',')}:${params.id}${ref}`, () =>
        sweepResults(ctx.cp, params.id, include, query.reference),
      );
    },
  }),
  defineRoute({
    method: 'GET',
    url: '/api/v1/sweeps/:id/configurations',
    operationId: 'getConfigurations',
    summary: "Get a sweep's configuration-level results (means over seeds with intervals, paired differences, front)",
    tag: 'sweeps',
    auth: 'none',
    params: sweepIdParamsSchema,
    query: configurationsQuerySchema,
    responses: {
      200: {
        description: 'the configurations (the `configurations` of GET results, without trial rows)',
        schema: sweepConfigurationsSchema,
      },
      ...notFound,
    },
    handler: async ({ params, query, req, reply, ctx }) => {
      const ref = query.reference === undefined ? '' : `:ref=${query.reference}`;
      return sendJsonView(req, reply, ctx.viewCache, `configurations:${params.id}${ref}`, () =>
        sweepConfigurations(ctx.cp, params.id, query.reference),
      );
    },
  }),
  defineRoute({
    method: 'GET',
    url: '/api/v1/comparisons',
    operationId: 'compareSweeps',
    summary: 'Compare sweeps: their trials combined into configuration-level results',
    description:
      'Sweeps must share base model, eval tasks and eval limit; otherwise 422 CP_ERR_SWEEPS_INCOMPARABLE names the first ' +
      'difference. A trial that several sweeps share counts once; seeds of one configuration in several sweeps pool into one row.',
    tag: 'sweeps',
    auth: 'none',
    query: comparisonQuerySchema,
    responses: {
      200: { description: 'the comparison', schema: comparisonResponseSchema },
      ...notFound,
      422: { description: 'the sweeps differ in base model, eval tasks or eval limit (CP_ERR_SWEEPS_INCOMPARABLE)' },
    },
    handler: async ({ query, req, reply, ctx }) => {
      const ids = query.sweeps.split(',');
      const key = `comparison:${ids.join(',')}:${query.reference ?? ''}`;
      return sendJsonView(req, reply, ctx.viewCache, key, () => compareSweeps(ctx.cp.store, ids, query.reference));
    },
  }),
  defineRoute({
    method: 'GET',
    url: '/api/v1/sweeps/:id/events',
    operationId: 'streamSweepEvents',
    summary: "Follow a sweep's progress as server-sent events",
    description:
      'Deltas. First `snapshot` ({id, status, finishedAt, trials by status, progress of each running trial, resumed}); with ' +
      '`Last-Event-ID` or `?since=` naming an event the server still holds, `resumed` is true and every state change after it ' +
      'follows, else the client must reload. Then `trial-running` ({trialKey, status}), `trial-progress` ({trialKey, progress}, at ' +
      "most every 0.5 s per trial), `trial-finished` ({trialKey, status, row}: the trial's table row) and `sweep-finished` " +
      '({status, finishedAt, summary}) as they happen, each with an id; `: heartbeat` comments; and a final `end` ({status, summary}) ' +
      'after which the server closes the stream. A sweep that has already ended gets `snapshot` and `end` at once.',
    tag: 'sweeps',
    auth: 'none',
    params: sweepIdParamsSchema,
    query: sweepEventsQuerySchema,
    responses: { 200: { description: 'an event stream', contentType: 'text/event-stream' }, ...notFound },
    handler: async ({ params, query, req, reply, ctx }) =>
      getSweepEventsHandler(params.id, query.since, req, reply, ctx),
  }),
  defineRoute({
    method: 'POST',
    url: '/api/v1/sweeps/:id/cancel',
    operationId: 'cancelSweep',
    summary: 'Cancel a sweep: waiting trials are removed, running ones stopped',
    description: 'Cancelling a sweep that has already ended changes nothing and answers its status.',
    tag: 'sweeps',
    auth: 'bearer',
    params: sweepIdParamsSchema,
    responses: { 200: { description: 'the status after cancelling', schema: cancelResponseSchema }, ...notFound },
    handler: async ({ params, ctx }) => {
      await ctx.cp.cancel(params.id);
      return { id: params.id, status: sweepOr404(ctx.cp, params.id).status };
    },
  }),
  defineRoute({
    method: 'GET',
    url: '/api/v1/sweeps/:id/webhook-deliveries',
    operationId: 'listWebhookDeliveries',
    summary: "Every delivery attempt of a sweep's outgoing webhooks",
    tag: 'webhooks',
    auth: 'none',
    params: sweepIdParamsSchema,
    responses: { 200: { description: 'attempts, oldest first', schema: webhookDeliveriesSchema }, ...notFound },
    handler: async ({ params, ctx }) => {
      sweepOr404(ctx.cp, params.id);
      return {
        sweepId: params.id,
        deliveries: ctx.cp.store.webhookDeliveries(params.id).map(({ sweepId: _s, ...d }) => d),
      };
    },
  }),
  defineRoute({
    method: 'GET',
    url: '/api/v1/workers',
    operationId: 'listWorkers',
    summary: 'List workers with a live heartbeat from their agent',
    tag: 'workers',
    auth: 'none',
    responses: {
      200: { description: 'the workers', schema: workerListSchema },
      503: { description: 'Redis does not answer' },
    },
    handler: async ({ ctx }) => getWorkersHandler(ctx),
  }),
  defineRoute({
    method: 'POST',
    url: '/api/v1/hooks/github',
    operationId: 'githubHook',
    summary: 'Submit a spec from jobs/ on a GitHub push or workflow_run event',
    description:
      'Authenticated by `X-Hub-Signature-256` (HMAC-SHA256 of the raw body with BSLORA_GITHUB_HOOK_SECRET), not by the bearer token. ' +
      'Submits the spec named by `?spec=` or BSLORA_GITHUB_HOOK_SPEC (a file under jobs/) and records the commit sha with the sweep. ' +
      'Other events, unfinished or unsuccessful workflow runs and refs outside BSLORA_GITHUB_HOOK_REF are acknowledged with 202 and ignored. ' +
      'Only application/json bodies are accepted (415 otherwise); the same body under a new X-GitHub-Delivery within 24 h is a replay (409 CP_ERR_HOOK_REPLAYED).',
    tag: 'hooks',
    auth: 'hook-signature',
    query: githubHookQuerySchema,
    body: {
      contentTypes: ['application/json'],
      description: 'the GitHub event payload (set the webhook content type to application/json)',
    },
    responses: {
      201: { description: 'a sweep was submitted', schema: githubHookResponseSchema },
      200: {
        description: 'a ping, or a redelivery of an event that already submitted a sweep',
        schema: githubHookResponseSchema,
      },
      202: { description: 'acknowledged and ignored (reason says why)', schema: githubHookResponseSchema },
      409: { description: 'a replayed body (CP_ERR_HOOK_REPLAYED)' },
      415: { description: 'the body is not application/json (CP_ERR_API_MEDIA_TYPE)' },
      503: { description: 'no secret is configured (CP_ERR_HOOK_DISABLED)' },
    },
    handler: ({ query, req, reply, ctx }) => postGithubHookHandler(query, req, reply, ctx),
  }),
  defineRoute({
    method: 'GET',
    url: '/api/v1/openapi.json',
    operationId: 'getOpenApi',
    summary: 'This document',
    tag: 'meta',
    auth: 'none',
    responses: { 200: { description: 'OpenAPI 3.1', schema: z.record(z.string(), z.unknown()) } },
    // Filled in by app.ts, which builds the document once from this table.
    handler: async () => ({}),
  }),
  defineRoute({
    method: 'GET',
    url: '/healthz',
    operationId: 'healthz',
    summary: 'Liveness: the process answers',
    tag: 'meta',
    auth: 'none',
    responses: { 200: { description: 'alive', schema: healthSchema } },
    handler: async () => ({ status: 'ok' }),
  }),
  defineRoute({
    method: 'GET',
    url: '/readyz',
    operationId: 'readyz',
    summary: 'Readiness: Redis answers and the store is open',
    tag: 'meta',
    auth: 'none',
    responses: {
      200: { description: 'ready', schema: readySchema },
      503: { description: 'not ready (CP_ERR_NOT_READY), with the failing check', schema: readySchema },
    },
    handler: async ({ reply, ctx }) => getReadyHandler(reply, ctx),
  }),
  defineRoute({
    method: 'GET',
    url: '/metrics',
    operationId: 'metrics',
    summary: 'Prometheus metrics: queue depths, trials, trial durations, workers, webhooks, HTTP',
    tag: 'meta',
    auth: 'none',
    responses: { 200: { description: 'Prometheus text format 0.0.4', contentType: PROMETHEUS_CONTENT_TYPE } },
    handler: async ({ reply, ctx }) => reply.type(PROMETHEUS_CONTENT_TYPE).send(await getMetricsHandler(ctx)),
  }),
];
