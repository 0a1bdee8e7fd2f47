/**
 * What an aborted job becomes. A cancelled sweep's job fails for good (no retry); a job aborted because its
 * consumer is shutting down goes back to the queue without spending an attempt, to resume from its checkpoint on
 * whichever consumer takes it next.
 */
import { DelayedError, UnrecoverableError, type Job } from 'bullmq';
import { ABORT_SHUTDOWN } from './queues.js';

export async function abortOutcome(job: Job, token: string | undefined, signal: AbortSignal): Promise<Error> {
  const reason = String(signal.reason ?? '');
  if (reason === ABORT_SHUTDOWN && token) {
    await job.moveToDelayed(Date.now() + 1_000, token);
    return new DelayedError();
  }
  return new UnrecoverableError(`job ${job.id} aborted: ${reason || 'cancelled'}`);
}
