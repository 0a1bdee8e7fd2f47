/**
 * The surfaces end to end on real parts (Redis, BullMQ, a spawned PyTorch worker over gRPC): a sweep submitted over
 * REST and followed over SSE to its end, its signed `notify` webhook retried after a failed first attempt, its
 * `expect` verdicts in the results, `sweep submit --wait` exiting 1 on a failed rule, and the worker reported by
 * its agent's heartbeat in `bslora workers` and `/metrics`.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeProgram } from '../../control-plane/src/cli/program.js';
import { isControlPlaneError } from '../../control-plane/src/errors.js';
import { startLocalStack, type LocalStack } from '../../control-plane/src/local-stack.js';
import { verifyWebhookSignature } from '../../control-plane/src/webhooks/webhook-signature.js';
import { captureIo } from '../helpers/capture-io.js';
import { deleteKeysWithPrefix, TEST_REDIS_URL, uniquePrefix } from '../helpers/redis.js';
import { readSse, type SseEvent } from '../helpers/sse.js';
import { tinySpecYaml } from '../helpers/tiny-spec.js';
import { waitFor, waitForSweepEnd } from '../helpers/sweep-helpers.js';
import { startWebhookReceiver } from '../helpers/webhook-receiver.js';

describe('REST, SSE, webhooks and expect rules on a real sweep', () => {
  const prefix = uniquePrefix('e2e-api');
  const home = mkdtempSync(join(tmpdir(), 'bslora-e2e-api-'));
  const specPath = join(home, 'e2e-api.yaml');
  let stack: LocalStack;
  let receiver: Awaited<ReturnType<typeof startWebhookReceiver>>;
  // The sweep every test looks at, submitted by whichever test asks first, so each test also runs on its own.
  let submitted: Promise<string> | undefined;
  const firstSweep = () =>
    (submitted ??= (async () => {
      const res = await fetch(`${stack.apiUrl}/api/v1/sweeps`, {
        method: 'POST',
        body: readFileSync(specPath, 'utf8'),
        headers: {
          authorization: `Bearer ${stack.token}`,
          'content-type': 'application/yaml',
          'idempotency-key': 'e2e-api-1',
        },
      });
      expect(res.status).toBe(201);
      return ((await res.json()) as { id: string }).id;
    })());
  const firstSweepEnded = async () => {
    const id = await firstSweep();
    await waitForSweepEnd(stack.controlPlane.store, id, 170_000);
    return id;
  };

  const cli = () => {
    const cap = captureIo();
    const program = makeProgram(
      { homeDir: home, redisUrl: TEST_REDIS_URL, prefix, apiUrl: stack.apiUrl!, host: '127.0.0.1', port: 0 },
      cap.io,
    );
    return { run: (args: string[]) => program.parseAsync(args, { from: 'user' }), cap };
  };
  const get = async (path: string) => (await fetch(`${stack.apiUrl}${path}`)).json();

  beforeAll(async () => {
    delete process.env.BSLORA_API_TOKEN;
    process.env.BSLORA_WEBHOOK_SECRET_E2E = 'e2e-webhook-secret';
    // The receiver listens on the loopback, which webhooks may reach only when allowed explicitly.
    process.env.BSLORA_WEBHOOK_ALLOW_HOSTS = '127.0.0.1';
    process.env.BSLORA_WEBHOOK_ALLOW_NETWORKS = '127.0.0.0/8';
    receiver = await startWebhookReceiver([503]);
    writeFileSync(
      specPath,
      tinySpecYaml({
        name: 'e2e-api',
        steps: 3,
        seed: 11,
        notify: [{ url: receiver.url, secret_env: 'BSLORA_WEBHOOK_SECRET_E2E' }],
        expect: [
          { name: 'bslora-has-a-result', best: 'bslora', at_least: 0 },
          { name: 'impossible', best: 'bslora', at_least: 101 },
        ],
      }),
    );
    stack = await startLocalStack({ homeDir: home, redisUrl: TEST_REDIS_URL, prefix, port: 0 });
  }, 120_000);

  afterAll(async () => {
    await stack?.stop();
    await receiver?.close();
    await deleteKeysWithPrefix(prefix);
    rmSync(home, { recursive: true, force: true });
  });

  it('follows a sweep submitted over REST through SSE until it ends', async () => {
    const sweepId = await firstSweep();

    const stream = await fetch(`${stack.apiUrl}/api/v1/sweeps/${sweepId}/events`);
    const { events, ended } = await readSse(stream);
    expect(ended).toBe(true);
    const kinds = events.map((e) => e.event);
    expect(kinds[0]).toBe('snapshot');
    expect(kinds.slice(-2)).toEqual(['sweep-finished', 'end']);
    expect(
      events.at(-1)!.data,
      JSON.stringify(stack.controlPlane.store.trialsOfSweep(sweepId).map((t) => t.lastError)),
    ).toMatchObject({ status: 'completed' });

    // Every trial finished either before the stream opened (the snapshot counts it) or while it was open (an event
    // with its row), and none twice.
    const snapshot = events[0].data as { trials: { total: number; completed: number }; resumed: boolean };
    expect(snapshot.resumed).toBe(false);
    const finishedLive = events
      .filter((e) => e.event === 'trial-finished')
      .map((e: SseEvent) => e.data as { trialKey: string; row: { status: string } });
    expect(new Set(finishedLive.map((e) => e.trialKey)).size).toBe(finishedLive.length);
    expect(finishedLive.every((e) => e.row.status === 'completed')).toBe(true);
    expect(snapshot.trials.completed + finishedLive.length).toBe(snapshot.trials.total);
    expect(kinds).toContain('trial-progress');
  }, 180_000);

  it('records the expect verdicts with the results', async () => {
    const sweepId = await firstSweepEnded();
    const results = await get(`/api/v1/sweeps/${sweepId}/results`);
    expect(results.completed).toBe(2);
    expect(results.expectPassed).toBe(false);
    expect(results.expect.map((v: { name: string; passed: boolean }) => [v.name, v.passed])).toEqual([
      ['bslora-has-a-result', true],
      ['impossible', false],
    ]);
    expect((await get(`/api/v1/sweeps/${sweepId}`)).summary.expectPassed).toBe(false);
  }, 180_000);

  it('delivers the signed completion webhook, retrying after the receiver failed once, and logs both attempts', async () => {
    const sweepId = await firstSweepEnded();
    const hooks = await receiver.waitFor(2);
    expect(hooks.slice(0, 2).map((h) => h.status)).toEqual([503, 200]);
    for (const h of hooks.slice(0, 2)) {
      expect(verifyWebhookSignature('e2e-webhook-secret', h.body, h.headers['x-bslora-signature'] as string)).toBe(
        true,
      );
    }
    const payload = JSON.parse(hooks[1].body);
    expect(payload).toMatchObject({
      event: 'sweep.completed',
      sweep: { id: sweepId, status: 'completed' },
      summary: { completed: 2, expectPassed: false },
    });
    const { deliveries } = await get(`/api/v1/sweeps/${sweepId}/webhook-deliveries`);
    expect(deliveries.map((d: { attempt: number; ok: boolean }) => [d.attempt, d.ok])).toEqual([
      [1, false],
      [2, true],
    ]);
  }, 200_000);

  it('makes `sweep submit --wait` exit 1 on a failed expect rule, showing every verdict', async () => {
    await firstSweepEnded(); // so its trials are reused
    const { run, cap } = cli();
    const err = await run(['sweep', 'submit', specPath, '--wait']).catch((e) => e);
    expect(isControlPlaneError(err) && err.code).toBe('CP_ERR_EXPECT_FAILED');
    expect(err.exitCode).toBe(1);
    expect(cap.stdout()).toContain('2 trials (2 reused)');
    expect(cap.stdout()).toMatch(/PASS {2}bslora-has-a-result: /);
    expect(cap.stdout()).toMatch(/FAIL {2}impossible: .* < target 101\.00/);
  }, 240_000);

  it('lists the worker from its agent heartbeat, in `bslora workers` and in /metrics', async () => {
    const sweepId = await firstSweepEnded();
    // The first delivery attempt (answered 503) is logged before the retry: wait for it, not for the retry.
    await waitFor(
      () => stack.controlPlane.store.webhookDeliveries(sweepId).length >= 1 || undefined,
      30_000,
      'the first webhook attempt',
    );
    const { run, cap } = cli();
    await run(['workers', '--json']);
    const workers = JSON.parse(cap.stdout());
    expect(workers).toHaveLength(1);
    expect(workers[0]).toMatchObject({
      status: 'serving',
      device: 'cpu',
      address: stack.agent.workers[0].address,
      pid: stack.agent.workers[0].pid,
    });
    expect(workers[0].versions.torch).toBeTruthy();
    expect(workers[0].devices[0].name).toBe('cpu');

    const metrics = await (await fetch(`${stack.apiUrl}/metrics`)).text();
    expect(metrics).toContain('bslora_workers{status="serving"} 1');
    expect(metrics).toMatch(/bslora_trial_train_duration_seconds_count [2-9]/);
    const completed = stack.controlPlane.store.listSweeps(500).filter((x) => x.status === 'completed').length;
    expect(completed).toBeGreaterThanOrEqual(1);
    expect(metrics).toContain(`bslora_sweeps{status="completed"} ${completed}`);
    expect(metrics).toContain('bslora_webhook_delivery_attempts_total{outcome="failed"} 1');
  }, 240_000);

  it('runs the GitHub Actions recipe of docs/ci.md, which fails the job on the failed expect rule', async () => {
    await firstSweepEnded(); // so its trials are reused
    const doc = readFileSync(new URL('../../docs/ci.md', import.meta.url), 'utf8');
    const block = doc.split('<!-- ci-recipe:start')[1].split('```yaml\n')[1].split('```\n')[0];
    const job = (
      parseYaml(block) as {
        jobs: Record<
          string,
          {
            env: Record<string, string>;
            steps: { id?: string; name?: string; env?: Record<string, string>; run?: string }[];
          }
        >;
      }
    ).jobs.sweep;
    const outputs: Record<string, Record<string, string>> = {};
    // The expressions the recipe uses, as GitHub would fill them in.
    const expand = (v: string) =>
      v.replace(/\$\{\{\s*([^}]+?)\s*\}\}/g, (_m, expr: string) => {
        if (expr === 'vars.BSLORA_API_URL') return stack.apiUrl!;
        if (expr === 'secrets.BSLORA_API_TOKEN') return stack.token;
        if (expr.startsWith('github.')) return '42';
        const out = /^steps\.(\w+)\.outputs\.(\w+)$/.exec(expr);
        if (out) return outputs[out[1]]?.[out[2]] ?? '';
        throw new Error(`the recipe uses an expression this test does not know: ${expr}`);
      });
    const jobEnv = Object.fromEntries(Object.entries(job.env).map(([k, v]) => [k, expand(String(v))]));
    jobEnv.BSLORA_SPEC = specPath;
    const results: { name: string; status: number | null; stdout: string; stderr: string }[] = [];
    for (const step of job.steps.filter((st) => st.run)) {
      const outFile = join(home, `gh-output-${results.length}`);
      writeFileSync(outFile, '');
      const env = {
        PATH: process.env.PATH!,
        HOME: process.env.HOME ?? home,
        ...jobEnv,
        ...Object.fromEntries(Object.entries(step.env ?? {}).map(([k, v]) => [k, expand(String(v))])),
        GITHUB_OUTPUT: outFile,
      };
      // Asynchronously: the control plane answering these requests runs in this very process.
      const r = await execa('bash', ['--noprofile', '--norc', '-eo', 'pipefail', '-c', expand(step.run!)], {
        env,
        extendEnv: false,
        cwd: home,
        reject: false,
        timeout: 60_000,
      });
      results.push({
        name: step.name ?? '',
        status: r.exitCode ?? null,
        stdout: String(r.stdout),
        stderr: String(r.stderr),
      });
      if (step.id)
        outputs[step.id] = Object.fromEntries(
          readFileSync(outFile, 'utf8')
            .split('\n')
            .filter(Boolean)
            .map((l) => l.split(/=(.*)/s).slice(0, 2) as [string, string]),
        );
      if (r.exitCode !== 0) break;
    }
    expect(results.map((r) => [r.name, r.status])).toEqual([
      ['Submit the sweep', 0],
      ['Wait for the sweep to end', 0],
      ['Check the results and the expect rules', 1],
    ]);
    expect(outputs.submit.id).toMatch(/^sw-/);
    const check = results[2].stdout;
    expect(check).toMatch(/PASS {2}bslora-has-a-result: /);
    expect(check).toMatch(/FAIL {2}impossible: /);
    expect(check).toContain('::error::the sweep failed or its expect rules did not pass');
    expect(readFileSync(join(home, 'results.csv'), 'utf8')).toMatch(/^trial,method,status/);
  }, 240_000);
});
