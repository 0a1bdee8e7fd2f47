/**
 * Repairs the store's unfinished sweeps at start-up. The store is the truth; Redis may have lost jobs (a Redis
 * restarted without AOF, a flushed database, a crash between store write and flow add).
 *
 * For each sweep still queued or running:
 * - every trial that has a result is marked completed, and one whose eval job completed while no recorder listened
 *   is recorded from that job's return value;
 * - every unfinished trial whose eval job no longer exists in Redis is queued again in a repair flow (same trial key,
 *   so a checkpoint left by the lost attempt is resumed);
 * - a sweep with nothing left to run is finished.
 */
import { type FlowProducer, Queue } from 'bullmq';
import type { Store } from '../store/store.js';
import { trialFlow } from '../planner/submit-sweep.js';
import { EVAL_QUEUE, SWEEP_QUEUE, type EvalJobResult, type QueueContext } from '../queue/queues.js';
import { repairSweepJobId, trialJobId } from '../queue/job-ids.js';
import { finishSweep, recordEvalResult } from './result-recorder.js';
import { currentRungJobExists, queueRung, storedSearchPlan } from '../search/search-rungs.js';

export interface ReconcileReport {
  finished: string[];
  requeued: { sweepId: string; trialKeys: string[] }[];
}

export async function reconcileSweeps(store: Store, ctx: QueueContext, flows: FlowProducer): Promise<ReconcileReport> {
  const report: ReconcileReport = { finished: [], requeued: [] };
  const evalQueue = new Queue(EVAL_QUEUE, { connection: ctx.connection, prefix: ctx.prefix });
  try {
    for (const sweep of store.unfinishedSweeps()) {
      const search = storedSearchPlan(store, sweep.id);
      if (search && search.rung < search.plan.rungSteps.length - 1) {
        // A search before its last rung waits on its rung's parent job; queue the rung again if Redis lost it (its
        // trials continue from their checkpoints, and rung results already recorded are reused).
        if (!(await currentRungJobExists(ctx, store, sweep.id))) {
          await queueRung({ store, flows, ctx }, sweep.id, search.rung);
          store.addEvent(sweep.id, null, 'sweep-repaired', { rung: search.rung });
          report.requeued.push({ sweepId: sweep.id, trialKeys: [] });
        }
        continue;
      }
      const stopped = new Set(
        store
          .searchTrials(sweep.id)
          .filter((t) => t.stopped)
          .map((t) => t.trialKey),
      );
      const rows = store.trialsOfSweep(sweep.id).filter((r) => !stopped.has(r.trialKey));
      const lost = [];
      for (const row of rows) {
        if (row.result) {
          if (row.status !== 'completed') store.setTrialStatus(row.trialKey, 'completed');
          continue;
        }
        if (row.status === 'failed' || row.status === 'cancelled' || row.status === 'stopped') continue;
        const job = await evalQueue.getJob(trialJobId(sweep.id, EVAL_QUEUE, row.trialKey));
        if (!job) lost.push(row);
        else if (await job.isCompleted()) recordEvalResult(store, sweep.id, job.returnvalue as EvalJobResult);
      }
      if (lost.length) {
        for (const row of lost) store.setTrialStatus(row.trialKey, 'queued');
        await flows.add({
          name: 'sweep',
          queueName: SWEEP_QUEUE,
          opts: { jobId: repairSweepJobId(sweep.id, Date.now()), removeOnComplete: { age: 24 * 3600 } },
          data: { sweepId: sweep.id },
          children: lost.map((row) => trialFlow(sweep.id, row.plan)),
        });
        store.addEvent(sweep.id, null, 'sweep-repaired', { requeued: lost.map((r) => r.trialKey) });
        report.requeued.push({ sweepId: sweep.id, trialKeys: lost.map((r) => r.trialKey) });
        continue;
      }
      const before = store.getSweep(sweep.id)!.status;
      finishSweep(store, sweep.id);
      if (store.getSweep(sweep.id)!.status !== before) report.finished.push(sweep.id);
    }
  } finally {
    await evalQueue.close();
  }
  return report;
}
