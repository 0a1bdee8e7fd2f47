import { Queue } from 'bullmq';
import { afterAll, describe, expect, it } from 'vitest';
import { deleteKeysWithPrefix, TEST_REDIS_URL, uniquePrefix } from '../../../test/helpers/redis.js';
import { parseIdleSeconds } from '../cli/agent-command.js';
import { isControlPlaneError } from '../errors.js';
import { connectionFromUrl, EVAL_QUEUE } from '../queue/queues.js';
import { watchForIdle } from './idle-watch.js';

describe('watchForIdle (real Redis)', () => {
  const prefix = uniquePrefix('idle');
  const ctx = { connection: connectionFromUrl(TEST_REDIS_URL), prefix };

  afterAll(() => deleteKeysWithPrefix(prefix));

  it('waits while any trial job is queued, and resolves once the queues stayed empty for the idle period', async () => {
    const evals = new Queue(EVAL_QUEUE, { connection: ctx.connection, prefix });
    const job = await evals.add('eval', { sweepId: 'sw-x' }, { delay: 60_000 });
    const watch = watchForIdle(ctx, 1, { pollMs: 100 });
    let idleAt = 0;
    void watch.idle.then(() => (idleAt = Date.now()));
    try {
      // A delayed job (a retry's backoff) is work still to do.
      await new Promise((r) => setTimeout(r, 1_800));
      expect(idleAt).toBe(0);
      const removedAt = Date.now();
      await job.remove();
      await watch.idle;
      expect(idleAt - removedAt).toBeGreaterThanOrEqual(1_000);
      expect(idleAt - removedAt).toBeLessThan(5_000);
    } finally {
      await watch.stop();
      await evals.close();
    }
  }, 20_000);

  it('refuses an --exit-when-idle that is no whole number of seconds', () => {
    expect(parseIdleSeconds('300')).toBe(300);
    expect(parseIdleSeconds('0')).toBe(0);
    for (const bad of ['', 'soon', '-5', '1.5']) {
      const caught = (() => {
        try {
          parseIdleSeconds(bad);
        } catch (err) {
          return err;
        }
      })();
      expect(isControlPlaneError(caught) && caught.code, bad).toBe('CP_ERR_AGENT_OPTION');
      expect((caught as Error).message).toContain(JSON.stringify(bad));
    }
  });
});
