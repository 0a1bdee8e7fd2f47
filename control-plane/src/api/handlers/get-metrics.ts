/**
 * `GET /metrics`: Prometheus text format. Queue depths per queue and state, sweeps and trials by status, active
 * trials, the distribution of trial training times, live workers, webhook attempts, and the API's own requests.
 * Redis-backed families are left out (and `bslora_redis_up` is 0) when Redis does not answer in time.
 */
import { readWorkerHeartbeats } from '../../agent/worker-heartbeat.js';
import type { ApiContext } from '../api-route.js';
import { withTimeout } from '../api-redis.js';
import { HTTP_DURATION_BUCKETS } from '../http-metrics.js';
import { PrometheusText } from '../prometheus-text.js';
import { SWEEP_STATUSES, TRIAL_STATUSES } from '../../store/statuses.js';

/** Bucket bounds (seconds) of trial training times: a tiny CPU trial takes seconds, a 7B one hours. */
export const TRIAL_DURATION_BUCKETS = [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600, 86400];

const STARTED_AT = Date.now() / 1000;

export async function getMetricsHandler(ctx: ApiContext): Promise<string> {
  const { cp } = ctx;
  const m = new PrometheusText();

  let queues: Record<string, Record<string, number>> | null = null;
  let workers: Awaited<ReturnType<typeof readWorkerHeartbeats>> | null = null;
  try {
    const [trialQueues, webhookQueue, heartbeats] = await withTimeout(
      Promise.all([
        cp.queueCounts(),
        cp.webhooks?.counts() ?? Promise.resolve(null),
        ctx.redis.run((r) => readWorkerHeartbeats(r, cp.ctx.prefix)),
      ]),
      2_000,
      'Redis did not answer',
    );
    queues = { ...trialQueues, ...(webhookQueue ? { webhook: webhookQueue } : {}) };
    workers = heartbeats;
  } catch {
    // Reported as bslora_redis_up 0 below.
  }

  m.family('bslora_redis_up', 'gauge', 'Whether Redis answered while these metrics were collected.').sample(
    'bslora_redis_up',
    queues ? 1 : 0,
  );

  if (queues) {
    m.family('bslora_queue_jobs', 'gauge', 'BullMQ jobs per queue and state.');
    for (const [queue, counts] of Object.entries(queues)) {
      for (const [state, n] of Object.entries(counts)) m.sample('bslora_queue_jobs', n, { queue, state });
    }
  }

  const counts = cp.store.statusCounts();
  m.family('bslora_sweeps', 'gauge', 'Sweeps in the store by status.');
  for (const s of SWEEP_STATUSES) m.sample('bslora_sweeps', counts.sweeps[s] ?? 0, { status: s });
  m.family('bslora_trials', 'gauge', 'Trials in the store by status.');
  for (const s of TRIAL_STATUSES) m.sample('bslora_trials', counts.trials[s] ?? 0, { status: s });
  m.family('bslora_active_trials', 'gauge', 'Trials training or evaluating now.').sample(
    'bslora_active_trials',
    counts.trials.running ?? 0,
  );

  m.family(
    'bslora_trial_train_duration_seconds',
    'histogram',
    'Wall time of each recorded trial training, in seconds.',
  );
  m.histogram('bslora_trial_train_duration_seconds', TRIAL_DURATION_BUCKETS, cp.store.trainWallSeconds());

  if (workers) {
    m.family('bslora_workers', 'gauge', 'Workers with a live heartbeat, by status.');
    for (const s of ['serving', 'unreachable'])
      m.sample('bslora_workers', workers.filter((w) => w.status === s).length, { status: s });
    m.family('bslora_worker_info', 'gauge', 'One series per live worker, labelled with what it is.');
    for (const w of workers) {
      m.sample('bslora_worker_info', 1, {
        worker_id: w.id,
        agent_id: w.agentId,
        host: w.host,
        device: w.device,
        address: w.address,
        torch: w.versions.torch ?? '',
      });
    }
    m.family('bslora_worker_capacity', 'gauge', 'Trials a worker runs at once.');
    for (const w of workers) m.sample('bslora_worker_capacity', w.capacity, { worker_id: w.id });
  }

  m.family('bslora_webhook_delivery_attempts_total', 'counter', 'Outgoing webhook delivery attempts by outcome.');
  m.sample('bslora_webhook_delivery_attempts_total', counts.webhookAttempts.ok, { outcome: 'ok' });
  m.sample('bslora_webhook_delivery_attempts_total', counts.webhookAttempts.failed, { outcome: 'failed' });

  m.family('bslora_sse_streams', 'gauge', 'Open server-sent-event streams.').sample(
    'bslora_sse_streams',
    ctx.openStreams.size,
  );

  m.family('bslora_http_requests_total', 'counter', 'API requests answered, by method, route and status.');
  const series = [...ctx.httpMetrics.series].map(([key, s]) => ({ labels: key.split('\0'), s }));
  for (const {
    labels: [method, route, status],
    s,
  } of series)
    m.sample('bslora_http_requests_total', s.count, { method, route, status });
  m.family('bslora_http_request_duration_seconds', 'histogram', 'API response times, by method, route and status.');
  for (const {
    labels: [method, route, status],
    s,
  } of series) {
    m.histogramCounts('bslora_http_request_duration_seconds', HTTP_DURATION_BUCKETS, s.buckets, s.sum, s.count, {
      method,
      route,
      status,
    });
  }

  const mem = process.memoryUsage();
  m.family('process_resident_memory_bytes', 'gauge', 'Resident memory of the control plane.').sample(
    'process_resident_memory_bytes',
    mem.rss,
  );
  m.family('nodejs_heap_used_bytes', 'gauge', 'V8 heap in use.').sample('nodejs_heap_used_bytes', mem.heapUsed);
  m.family('process_start_time_seconds', 'gauge', 'Start time of the process, unix seconds.').sample(
    'process_start_time_seconds',
    Math.floor(STARTED_AT),
  );
  return m.toString();
}
