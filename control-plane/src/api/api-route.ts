/**
 * One REST endpoint: its method and path, the zod schemas of its inputs and outputs, its auth, and its handler.
 * `routes.ts` lists them all; `app.ts` registers them with Fastify and `openapi.ts` documents them, from the same
 * objects.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import type { ControlPlane } from '../control-plane.js';
import { ControlPlaneError } from '../errors.js';
import type { ApiRedis } from './api-redis.js';
import type { HttpMetrics } from './http-metrics.js';
import type { SweepEventLog } from './sweep-event-log.js';
import type { ViewCache } from './view-cache.js';
import { formatPath } from '../sweep-specs/index.js';

/** How a route is authenticated. Every non-GET route needs the bearer token unless it verifies a hook signature. */
export type RouteAuth = 'none' | 'bearer' | 'hook-signature';

export interface ApiResponse {
  description: string;
  /** Body schema (JSON unless `contentType` says otherwise). */
  schema?: z.ZodType;
  /** @defaultValue 'application/json' */
  contentType?: string;
  headers?: Record<string, string>;
}

/** What every handler gets besides its parsed inputs. */
export interface ApiContext {
  cp: ControlPlane;
  redis: ApiRedis;
  httpMetrics: HttpMetrics;
  /** Directory relative spec paths resolve against when the request names none. */
  specBaseDir: string;
  /** Folders local paths of submitted specs must lie under (data-roots.ts). */
  dataRoots: string[];
  /** The repository's jobs/ folder (incoming hooks may only submit specs from it). */
  jobsDir: string;
  env: NodeJS.ProcessEnv;
  /** Interval between SSE heartbeat comments. */
  sseHeartbeatMs: number;
  /** Submissions in flight per Idempotency-Key (one process serialises requests with the same key). */
  idempotencyInflight: Map<string, Promise<unknown>>;
  /** SSE streams to end when the app closes. */
  openStreams: Set<() => void>;
  /** Open SSE streams per client (token hash, or address without a token), for the per-client cap. */
  streamsPerClient: Map<string, number>;
  maxStreamsPerClient: number;
  /**
   * Serialised read views (results, sweep, sweep list), kept until what they show changes; absent when disabled
   * (AppDeps.cacheViews).
   */
  /** Each sweep's live events as numbered deltas, with a bounded log for clients that reconnect. */
  events: SweepEventLog;
  /**
   * Serialised read views (results, sweep, sweep list), kept until what they show changes; absent when disabled
   * (AppDeps.cacheViews).
   */
  viewCache?: ViewCache;
}

export interface HandlerInput<P, Q> {
  params: P;
  query: Q;
  req: FastifyRequest;
  reply: FastifyReply;
  ctx: ApiContext;
}

export interface ApiRoute<P extends z.ZodType = z.ZodType, Q extends z.ZodType = z.ZodType> {
  method: 'GET' | 'POST';
  /** Fastify path (`/api/v1/sweeps/:id`). */
  url: string;
  operationId: string;
  summary: string;
  description?: string;
  tag: string;
  auth: RouteAuth;
  params?: P;
  query?: Q;
  body?: { contentTypes: string[]; schema?: z.ZodType; description: string };
  /** Successful responses and route-specific errors; common errors (400, 401, 413, 500) are added by openapi.ts. */
  responses: Record<number, ApiResponse>;
  handler(input: HandlerInput<z.output<P>, z.output<Q>>): Promise<unknown>;
}

/** Declares a route with its input types inferred from its schemas. */
// biome-ignore lint/complexity/noBannedTypes: `{}` is zod's shape of an object without keys (no params or query).
export function defineRoute<P extends z.ZodType = z.ZodObject<{}>, Q extends z.ZodType = z.ZodObject<{}>>(
  route: ApiRoute<P, Q>,
): ApiRoute {
  return route as unknown as ApiRoute;
}

/** Parses a request part with its schema; problems become CP_ERR_API_REQUEST naming each parameter. */
export function parseInput<T extends z.ZodType>(
  schema: T | undefined,
  value: unknown,
  where: 'path' | 'query',
): z.output<T> {
  if (!schema) return {} as z.output<T>;
  const r = schema.safeParse(value ?? {});
  if (r.success) return r.data;
  const issues = r.error.issues.map((i) => ({ path: `${where}.${formatPath(i.path)}`, message: i.message }));
  throw new ControlPlaneError(
    'CP_ERR_API_REQUEST',
    `invalid ${where} parameters: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`,
    { issues },
  );
}
