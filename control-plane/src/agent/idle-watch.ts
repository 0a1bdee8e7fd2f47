/**
 * `bslora agent --exit-when-idle <seconds>`: resolves once the trial queues have had no work for that long, so that
 * an agent running as a scheduler's job (a Slurm array task, a Kubernetes Indexed Job pod) ends when the sweeps
 * are drained and hands its allocation back. "No work" is counted over every host: no train or eval job waiting,
 * delayed (a retry's backoff), prioritized, running, or waiting for its training. So an agent stays while any trial
 * is unfinished anywhere, since a retry of it may need this agent.
 */
import { Queue } from 'bullmq';
import { EVAL_QUEUE, TRAIN_QUEUE, type QueueContext } from '../queue/queues.js';

const PENDING_STATES = ['waiting', 'delayed', 'prioritized', 'active', 'waiting-children', 'paused'] as const;

export interface IdleWatch {
  /** Resolves when the queues have been empty for the whole idle period. */
  readonly idle: Promise<void>;
  stop(): Promise<void>;
}

/** Jobs the agents still have to do, over the train and eval queues. */
export async function pendingTrialJobs(queues: Queue[]): Promise<number> {
  let total = 0;
  for (const q of queues) {
    const counts = await q.getJobCounts(...PENDING_STATES);
    for (const state of PENDING_STATES) total += counts[state] ?? 0;
  }
  return total;
}

export function watchForIdle(
  ctx: QueueContext,
  idleSeconds: number,
  opts: { pollMs?: number; onError?: (err: Error) => void } = {},
): IdleWatch {
  const queues = [TRAIN_QUEUE, EVAL_QUEUE].map(
    (name) => new Queue(name, { connection: ctx.connection, prefix: ctx.prefix }),
  );
  for (const q of queues) q.on('error', (err) => opts.onError?.(err));
  // Poll often enough to notice the end of a short idle period, rarely enough to cost Redis nothing at 100 agents.
  const pollMs = opts.pollMs ?? Math.min(5_000, Math.max(250, (idleSeconds * 1000) / 4));
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let idleSince: number | undefined;
  const idle = new Promise<void>((resolve) => {
    const check = async () => {
      if (stopped) return;
      try {
        if ((await pendingTrialJobs(queues)) > 0) idleSince = undefined;
        else idleSince ??= Date.now();
      } catch (err) {
        // Redis unreachable is not idleness: start counting again once it answers.
        idleSince = undefined;
        opts.onError?.(err as Error);
      }
      if (idleSince !== undefined && Date.now() - idleSince >= idleSeconds * 1000) {
        resolve();
        return;
      }
      if (!stopped) timer = setTimeout(check, pollMs);
    };
    void check();
  });
  return {
    idle,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await Promise.all(queues.map((q) => q.close()));
    },
  };
}
