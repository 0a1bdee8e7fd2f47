/**
 * Outgoing webhooks (a spec's `notify`): when a sweep ends, one job per URL on their own BullMQ queue (`webhook`),
 * delivered by a consumer in the control plane, signed, retried with exponential backoff, and every attempt logged
 * in the store (`webhook_deliveries`).
 *
 * @example
 * const webhooks = await startWebhookDispatcher(ctx, store);
 * await webhooks.sweepEnded(sweepId);   // queues the spec's notify URLs whose events match the outcome
 * await webhooks.close();
 */
import { Queue, UnrecoverableError, Worker, type Job } from 'bullmq';
import type { QueueContext } from '../queue/queues.js';
import type { Store } from '../store/store.js';
import type { SweepSpec } from '../sweep-specs/index.js';
import { itemsOfRows } from '../store/item-correctness.js';
import { webhookPolicyFrom, type WebhookPolicy } from './destination-policy.js';
import { RefusedDestinationError, postWebhook } from './post-webhook.js';
import { buildWebhookPayload, serializeWebhookPayload, sweepOutcome } from './webhook-payload.js';
import { signWebhookPayload } from './webhook-signature.js';

export const WEBHOOK_QUEUE = 'webhook';
/**
 * The only environment variables `notify.secret_env` may name: a spec cannot sign with the API token or a hook secret.
 */
export const WEBHOOK_SECRET_PREFIX = 'BSLORA_WEBHOOK_SECRET_';
/** Most delivery attempts of one webhook, whatever the options say (the retry budget). */
export const MAX_WEBHOOK_ATTEMPTS = 8;

export interface WebhookJobData {
  deliveryId: string;
  sweepId: string;
  url: string;
  /** `sweep.<outcome>`. */
  event: string;
  /** Environment variable holding the signing secret; null sends unsigned. */
  secretEnv: string | null;
  /** The exact body, the same on every attempt. */
  body: string;
}

export interface WebhookDispatcherOptions {
  /** Delivery attempts before giving up, at most MAX_WEBHOOK_ATTEMPTS. @defaultValue 5 */
  attempts?: number;
  /**
   * Where webhooks may go. @defaultValue webhookPolicyFrom(env) (BSLORA_WEBHOOK_ALLOW_HOSTS,
   * BSLORA_WEBHOOK_ALLOW_NETWORKS)
   */
  policy?: WebhookPolicy;
  /** First retry delay; each next one doubles (1 s, 2 s, 4 s, 8 s). @defaultValue 1000 */
  backoffMs?: number;
  /** Time allowed for one attempt. @defaultValue 10000 */
  timeoutMs?: number;
  /** Deliveries in flight at once. @defaultValue 4 */
  concurrency?: number;
  /** Where secrets are read. @defaultValue process.env */
  env?: NodeJS.ProcessEnv;
  /** Base URL for links in payloads. @defaultValue env.BSLORA_PUBLIC_URL, else relative links */
  publicUrl?: string;
  /** Called when a delivery attempt fails (the store has it too). */
  onError?: (err: Error) => void;
}

export interface WebhookDispatcher {
  /**
   * Queues the sweep's webhooks for its outcome; returns how many. Idempotent: a sweep's deliveries are queued once.
   */
  sweepEnded(sweepId: string): Promise<number>;
  /** Job counts of the webhook queue, for `/metrics`. */
  counts(): Promise<Record<string, number>>;
  close(): Promise<void>;
}

export const USER_AGENT = 'bslora-webhook/0.1';

export async function startWebhookDispatcher(
  ctx: QueueContext,
  store: Store,
  opts: WebhookDispatcherOptions = {},
): Promise<WebhookDispatcher> {
  const env = opts.env ?? process.env;
  const base = { connection: ctx.connection, prefix: ctx.prefix };
  const queue = new Queue<WebhookJobData>(WEBHOOK_QUEUE, base);
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const policy = opts.policy ?? webhookPolicyFrom(env);
  const attempts = Math.min(Math.max(1, opts.attempts ?? 5), MAX_WEBHOOK_ATTEMPTS);

  const consumer = new Worker<WebhookJobData>(
    WEBHOOK_QUEUE,
    async (job: Job<WebhookJobData>) => {
      const d = job.data;
      const attempt = job.attemptsMade + 1;
      const started = performance.now();
      let statusCode: number | null = null;
      let error: string | null = null;
      let permanent = false;
      try {
        const headers: Record<string, string> = {
          'content-type': 'application/json',
          'user-agent': USER_AGENT,
          'x-bslora-event': d.event,
          'x-bslora-delivery': d.deliveryId,
          'x-bslora-attempt': String(attempt),
        };
        if (d.secretEnv) {
          // Checked again here: a job queued by an older version may name any variable.
          const secret = d.secretEnv.startsWith(WEBHOOK_SECRET_PREFIX) ? env[d.secretEnv] : undefined;
          if (!secret) {
            permanent = true;
            throw new Error(
              `no signing secret is configured for notify.secret_env ${d.secretEnv} (variables named ${WEBHOOK_SECRET_PREFIX}*)`,
            );
          }
          // A fresh timestamp per attempt, so that a receiver's replay window accepts retries.
          headers['x-bslora-signature'] = signWebhookPayload(secret, d.body);
        }
        statusCode = await postWebhook(d.url, headers, d.body, { policy, timeoutMs });
        if (statusCode >= 300 && statusCode < 400) {
          // A redirect could lead anywhere the allowlist does not: it is not followed, and not retried.
          error = `HTTP ${statusCode}: redirects are not followed`;
          permanent = true;
        } else if (statusCode < 200 || statusCode >= 300) {
          error = `HTTP ${statusCode}`;
          // 410 Gone: the receiver says it will never want this again.
          permanent = statusCode === 410;
        }
      } catch (err) {
        if (err instanceof RefusedDestinationError) permanent = true;
        error = (err as Error).name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : (err as Error).message;
      }
      store.recordWebhookAttempt({
        deliveryId: d.deliveryId,
        sweepId: d.sweepId,
        url: d.url,
        event: d.event,
        attempt,
        statusCode,
        ok: error === null,
        error,
        durationMs: performance.now() - started,
      });
      if (error !== null) {
        const message = `webhook ${d.deliveryId} to ${d.url}, attempt ${attempt}: ${error}`;
        throw permanent ? new UnrecoverableError(message) : new Error(message);
      }
      return { statusCode, attempt };
    },
    { ...base, concurrency: opts.concurrency ?? 4 },
  );
  consumer.on('error', (err) => opts.onError?.(err));
  consumer.on('failed', (_job, err) => opts.onError?.(err));

  return {
    async sweepEnded(sweepId) {
      const sweep = store.getSweep(sweepId);
      if (!sweep) return 0;
      const rows = store.trialsOfSweep(sweepId);
      const outcome = sweepOutcome(sweep, rows);
      const notify = (sweep.spec as SweepSpec | null)?.notify ?? [];
      if (!outcome || notify.length === 0) return 0;
      let queued = 0;
      for (const [index, target] of notify.entries()) {
        if (target.events && !target.events.includes(outcome)) continue;
        const deliveryId = `${sweepId}.${index}`;
        const payload = buildWebhookPayload(
          sweep,
          rows,
          outcome,
          deliveryId,
          opts.publicUrl ?? env.BSLORA_PUBLIC_URL ?? '',
          itemsOfRows(store.db, rows),
        );
        await queue.add(
          'deliver',
          {
            deliveryId,
            sweepId,
            url: target.url,
            event: payload.event,
            secretEnv: target.secret_env ?? null,
            body: serializeWebhookPayload(payload),
          },
          {
            // One delivery per sweep and URL, however often the sweep's end is reported.
            jobId: `notify.${deliveryId}`,
            attempts,
            backoff: { type: 'exponential', delay: opts.backoffMs ?? 1_000 },
            removeOnComplete: { age: 7 * 24 * 3600 },
            removeOnFail: { age: 30 * 24 * 3600 },
          },
        );
        queued++;
      }
      store.addEvent(sweepId, null, 'webhooks-queued', { outcome, count: queued });
      return queued;
    },
    counts: () => queue.getJobCounts('waiting', 'active', 'completed', 'failed', 'delayed'),
    async close() {
      await consumer.close();
      await queue.close();
    },
  };
}
