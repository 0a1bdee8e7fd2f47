/**
 * The one registry of control-plane error codes (Fastify style): every error the control plane raises on purpose
 * is a `ControlPlaneError` with a stable `code` listed here and documented in docs/reference/errors.md.
 * The CLI maps codes to exit codes; the REST API maps them to HTTP statuses.
 */

export const ERROR_CODES = {
  /** A sweep spec failed validation; `issues` names every problem by its path in the spec. */
  CP_ERR_SPEC_INVALID: { exitCode: 2, httpStatus: 400, summary: 'the sweep spec is invalid' },
  /** A sweep spec file could not be read. */
  CP_ERR_SPEC_UNREADABLE: { exitCode: 2, httpStatus: 400, summary: 'the sweep spec file could not be read' },
  /** Redis did not answer, or answered with an unsafe configuration. */
  CP_ERR_REDIS_UNAVAILABLE: { exitCode: 3, httpStatus: 503, summary: 'Redis is not reachable' },
  CP_ERR_REDIS_EVICTION_POLICY: {
    exitCode: 3,
    httpStatus: 503,
    summary: "Redis maxmemory-policy is not 'noeviction'",
  },
  /** BSLORA_REDIS_URL (or --redis) is neither a redis:// URL nor a redis-cluster:// node list. */
  CP_ERR_REDIS_URL_INVALID: { exitCode: 2, httpStatus: 500, summary: 'the Redis setting is not a valid URL' },
  /** A worker process failed to start or to become healthy. */
  CP_ERR_WORKER_START: { exitCode: 4, httpStatus: 503, summary: 'a worker process did not start' },
  /** A worker answered a call with an error that retrying cannot fix. */
  CP_ERR_WORKER_REJECTED: { exitCode: 1, httpStatus: 422, summary: 'the worker rejected the request' },
  /** No sweep with that id. */
  CP_ERR_SWEEP_NOT_FOUND: { exitCode: 2, httpStatus: 404, summary: 'no sweep has that id' },
  CP_ERR_TRIAL_NOT_FOUND: { exitCode: 2, httpStatus: 404, summary: 'the sweep has no trial with that key' },
  /** The control plane's API could not be reached by the CLI. */
  CP_ERR_API_UNREACHABLE: { exitCode: 3, httpStatus: 503, summary: 'the control plane API is not reachable' },
  /** A request to the API was refused (bad token, bad body). */
  CP_ERR_API_REQUEST: { exitCode: 2, httpStatus: 400, summary: 'the API refused the request' },
  CP_ERR_API_BODY_TOO_LARGE: { exitCode: 2, httpStatus: 413, summary: 'the request body is larger than the limit' },
  CP_ERR_INTERNAL: { exitCode: 70, httpStatus: 500, summary: 'an unexpected error' },
  CP_ERR_UNAUTHORIZED: { exitCode: 2, httpStatus: 401, summary: 'a valid bearer token is required' },
  /** A sweep finished, but some of its trials failed. */
  CP_ERR_TRIALS_FAILED: { exitCode: 1, httpStatus: 200, summary: 'some trials failed' },
  /** A sweep finished, but its spec's `expect` rules did not all pass. */
  CP_ERR_EXPECT_FAILED: { exitCode: 1, httpStatus: 200, summary: "the sweep's expect rules failed" },
  /** An `Idempotency-Key` was sent again with a different body. */
  CP_ERR_IDEMPOTENCY_KEY_REUSED: {
    exitCode: 2,
    httpStatus: 409,
    summary: 'the idempotency key was used with another body',
  },
  /** No API route matches the method and path. */
  CP_ERR_API_NOT_FOUND: { exitCode: 2, httpStatus: 404, summary: 'no such API route' },
  /** The request's Content-Type is not one the route accepts. */
  CP_ERR_API_MEDIA_TYPE: { exitCode: 2, httpStatus: 415, summary: 'unsupported Content-Type' },
  /** Redis or the store is not usable, so the control plane cannot take work (`/readyz`). */
  CP_ERR_NOT_READY: { exitCode: 3, httpStatus: 503, summary: 'the control plane is not ready' },
  /** An incoming hook arrived without a valid signature. */
  CP_ERR_HOOK_SIGNATURE: { exitCode: 2, httpStatus: 401, summary: 'the hook signature is missing or wrong' },
  /** An incoming hook arrived, but no shared secret is configured for it. */
  CP_ERR_HOOK_DISABLED: { exitCode: 2, httpStatus: 503, summary: 'the hook is not configured' },
  /** An incoming hook's payload or spec selection could not be used. */
  CP_ERR_HOOK_REQUEST: { exitCode: 2, httpStatus: 400, summary: 'the hook request cannot be used' },
  /** A spec took longer, or more memory, to check than the server allows (it is refused, not queued). */
  CP_ERR_SPEC_TOO_COSTLY: { exitCode: 2, httpStatus: 422, summary: 'the sweep spec is too costly to check' },
  /** A path given in a request (`?base=`) lies outside the folders the control plane reads. */
  CP_ERR_PATH_NOT_ALLOWED: { exitCode: 2, httpStatus: 400, summary: 'the path is outside the allowed roots' },
  /** An incoming hook's body was already delivered (a replay under a new delivery id). */
  CP_ERR_HOOK_REPLAYED: { exitCode: 2, httpStatus: 409, summary: 'the hook body was already delivered' },
  /** The API token (file or BSLORA_API_TOKEN) is empty or malformed; the server does not start. */
  CP_ERR_TOKEN_INVALID: { exitCode: 2, httpStatus: 500, summary: 'the API token is empty or malformed' },
  /** A client holds more event streams than the server allows per token (or per address). */
  CP_ERR_TOO_MANY_STREAMS: { exitCode: 2, httpStatus: 429, summary: 'too many open event streams' },
  /** The server already holds as many unfinished sweeps as it allows (BSLORA_MAX_ACTIVE_SWEEPS). */
  CP_ERR_TOO_MANY_SWEEPS: { exitCode: 2, httpStatus: 429, summary: 'too many unfinished sweeps' },
  /** A worker named by address (`--worker host:port`) did not answer. */
  CP_ERR_WORKER_UNREACHABLE: { exitCode: 4, httpStatus: 503, summary: 'the worker does not answer' },
  /** `--data-mirror` (or BSLORA_DATA_MIRROR) names no folder. */
  CP_ERR_DATA_MIRROR: { exitCode: 2, httpStatus: 400, summary: 'the data mirror is not a folder' },
  /** A spec with `grid.peft` entries was submitted while no worker was serving to validate them. */
  CP_ERR_NO_VALIDATING_WORKER: { exitCode: 4, httpStatus: 503, summary: 'no worker can validate the PEFT entries' },
  /** Sweeps asked to be compared differ in base model, eval tasks or eval limit. */
  CP_ERR_SWEEPS_INCOMPARABLE: { exitCode: 2, httpStatus: 422, summary: 'the sweeps cannot be compared' },
  /** The trial has no stored adapter: the base model, a trial that has not finished, or an archive that is gone. */
  CP_ERR_ADAPTER_NOT_FOUND: { exitCode: 2, httpStatus: 404, summary: 'the trial has no adapter' },
  /** A downloaded adapter does not match its sha256, or is not a tar of regular files. */
  CP_ERR_ADAPTER_INVALID: { exitCode: 1, httpStatus: 502, summary: 'the adapter archive is damaged' },
  /** The directory `bslora adapter get` should write to exists and is not empty. */
  CP_ERR_OUTPUT_EXISTS: { exitCode: 2, httpStatus: 400, summary: 'the output directory is not empty' },
  /** `--artifacts` / BSLORA_ARTIFACTS (or BSLORA_ARTIFACTS_REDIS_MAX_BYTES) is not a backend this build knows. */
  CP_ERR_ARTIFACTS_SETTING: { exitCode: 2, httpStatus: 500, summary: 'the artifact backend setting is invalid' },
  /** A trained adapter is larger than the Redis mirror takes (BSLORA_ARTIFACTS_REDIS_MAX_BYTES). */
  CP_ERR_ARTIFACT_TOO_LARGE: { exitCode: 1, httpStatus: 507, summary: "the adapter is over the Redis mirror's cap" },
  /** `bslora agent --exit-when-idle` was given no whole number of seconds. */
  CP_ERR_AGENT_OPTION: { exitCode: 2, httpStatus: 400, summary: 'an agent option is invalid' },
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** One problem with a spec, named by its path (`grid.ranks[2]`). */
export interface SpecIssue {
  path: string;
  message: string;
}

export class ControlPlaneError extends Error {
  readonly code: ErrorCode;
  readonly issues: SpecIssue[];

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; issues?: SpecIssue[] } = {}) {
    super(message, { cause: options.cause });
    this.name = 'ControlPlaneError';
    this.code = code;
    this.issues = options.issues ?? [];
  }

  get exitCode(): number {
    return ERROR_CODES[this.code].exitCode;
  }

  get httpStatus(): number {
    return ERROR_CODES[this.code].httpStatus;
  }
}

export function isControlPlaneError(err: unknown): err is ControlPlaneError {
  return err instanceof ControlPlaneError;
}
