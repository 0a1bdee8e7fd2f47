/**
 * The API through a real listening server (127.0.0.1, free port) and fetch, and the CLI's read commands against it
 * through `makeProgram(...).parseAsync`. A real ControlPlane on Redis with a unique prefix; no workers, so sweeps
 * stay queued until cancelled.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { captureIo } from '../../../test/helpers/capture-io.js';
import { deleteKeysWithPrefix, TEST_REDIS_URL, uniquePrefix } from '../../../test/helpers/redis.js';
import { readSse } from '../../../test/helpers/sse.js';
import { tinySpecYaml } from '../../../test/helpers/tiny-spec.js';
import { makeProgram } from '../cli/program.js';
import { ControlPlane } from '../control-plane.js';
import { isControlPlaneError } from '../errors.js';
import { loadOrCreateToken } from './auth-token.js';
import { buildApp } from './app.js';

describe('REST API on a listening server', () => {
  const prefix = uniquePrefix('api-server');
  const home = mkdtempSync(join(tmpdir(), 'bslora-api-server-'));
  let cp: ControlPlane;
  let app: FastifyInstance;
  let base: string;
  let token: string;
  let seed = 200;

  const submit = (text = tinySpecYaml({ seed: seed++ }), headers: Record<string, string> = {}) =>
    fetch(`${base}/api/v1/sweeps`, {
      method: 'POST',
      body: text,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/yaml', ...headers },
    });

  const cli = (apiUrl = base) => {
    const cap = captureIo();
    const program = makeProgram(
      { homeDir: home, redisUrl: TEST_REDIS_URL, prefix, apiUrl, host: '127.0.0.1', port: 0 },
      cap.io,
    );
    return { run: (args: string[]) => program.parseAsync(args, { from: 'user' }), cap };
  };

  beforeAll(async () => {
    delete process.env.BSLORA_API_TOKEN;
    token = loadOrCreateToken(home).token; // the CLI reads the same file
    cp = await ControlPlane.start({ redisUrl: TEST_REDIS_URL, prefix, homeDir: home });
    app = buildApp({ controlPlane: cp, token, bodyLimit: 64 * 1024, sseHeartbeatMs: 100 });
    base = await app.listen({ host: '127.0.0.1', port: 0 });
  });

  afterAll(async () => {
    await app?.close();
    await cp?.close();
    await deleteKeysWithPrefix(prefix);
    rmSync(home, { recursive: true, force: true });
  });

  it('binds to 127.0.0.1', () => {
    expect(new URL(base).hostname).toBe('127.0.0.1');
  });

  it('refuses missing and wrong tokens and oversized bodies over real HTTP', async () => {
    const none = await fetch(`${base}/api/v1/sweeps`, {
      method: 'POST',
      body: tinySpecYaml(),
      headers: { 'content-type': 'application/yaml' },
    });
    expect(none.status).toBe(401);
    expect((await none.json()).error.code).toBe('CP_ERR_UNAUTHORIZED');
    const wrong = await submit(tinySpecYaml(), { authorization: 'Bearer nope' });
    expect(wrong.status).toBe(401);
    const big = await submit(`${tinySpecYaml()}#${'x'.repeat(70 * 1024)}\n`);
    expect(big.status).toBe(413);
    expect(await big.json()).toEqual({ error: { code: 'CP_ERR_API_BODY_TOO_LARGE', message: expect.any(String) } });
  });

  it('submits idempotently over real HTTP', async () => {
    const text = tinySpecYaml({ seed: seed++ });
    const a = await submit(text, { 'idempotency-key': 'server-key' });
    const b = await submit(text, { 'idempotency-key': 'server-key' });
    expect([a.status, b.status]).toEqual([201, 200]);
    expect((await b.json()).id).toBe((await a.json()).id);
  });

  it('streams a sweep over SSE from its snapshot to its end, with heartbeats, and closes the stream', async () => {
    const { id } = await (await submit()).json();
    const res = await fetch(`${base}/api/v1/sweeps/${id}/events`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    // fetch asks for gzip; the stream is gzipped, and still arrives event by event (each burst flushed).
    expect(res.headers.get('content-encoding')).toBe('gzip');
    let cancelled = false;
    const read = await readSse(res, {
      onEvent: (e) => {
        // Once the snapshot is in, let a heartbeat pass, then cancel: the stream must report it and end.
        if (e.event === 'snapshot' && !cancelled) {
          cancelled = true;
          setTimeout(
            () =>
              void fetch(`${base}/api/v1/sweeps/${id}/cancel`, {
                method: 'POST',
                headers: { authorization: `Bearer ${token}` },
              }),
            250,
          );
        }
      },
    });
    expect(read.ended).toBe(true);
    expect(read.events[0]).toMatchObject({ event: 'snapshot', data: { id, status: 'queued' } });
    // `end` closes every stream; the live `sweep-finished` before it arrives unless a heartbeat saw the store first.
    expect(read.events.at(-1)!.event).toBe('end');
    expect(read.events.slice(1, -1).every((e) => e.event === 'sweep-finished')).toBe(true);
    expect(read.events.at(-1)!.data).toMatchObject({ status: 'cancelled' });
    expect(read.comments).toContain('heartbeat');
    // Ids are `<epoch>-<n>`, n increasing; the snapshot has one (nothing was replayed after it), `end` none.
    const ids = read.events.filter((e) => e.id !== null).map((e) => e.id!);
    expect(ids.length).toBe(read.events.length - 1);
    expect(ids.every((id) => /^[0-9a-f]+-\d+$/.test(id))).toBe(true);
    const seqs = ids.map((id) => Number(id.split('-')[1]));
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(read.events[0].data).toMatchObject({ resumed: false, trials: { total: 2, queued: 2 }, progress: {} });
  });

  it('unsubscribes a client that disconnects mid-stream', async () => {
    const { id } = await (await submit()).json();
    const streams = async () =>
      Number(/^bslora_sse_streams (\d+)$/m.exec(await (await fetch(`${base}/metrics`)).text())![1]);
    // The app follows the control plane's feed once (its event log); streams subscribe to that log, not to the feed.
    const listeners = cp.live.listenerCount('event');
    const abort = new AbortController();
    const res = await fetch(`${base}/api/v1/sweeps/${id}/events`, { signal: abort.signal });
    const reader = res.body!.getReader();
    await reader.read(); // the stream is open and has started
    expect(await streams()).toBe(1);
    expect(cp.live.listenerCount('event')).toBe(listeners);
    abort.abort();
    for (let i = 0; i < 50 && (await streams()) > 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(await streams()).toBe(0);
  });

  describe('CLI against the server', () => {
    it('sweep submit, list, status and results print text and JSON', async () => {
      const spec = join(home, 'cli-spec.yaml');
      writeFileSync(spec, tinySpecYaml({ name: 'cli-sweep', seed: seed++ }));
      const submitted = cli();
      await submitted.run(['sweep', 'submit', spec, '--json']);
      const { id } = JSON.parse(submitted.cap.stdout());

      const list = cli();
      await list.run(['sweep', 'list', '--json', '--limit', '50']);
      expect(JSON.parse(list.cap.stdout()).map((s: { id: string }) => s.id)).toContain(id);

      const status = cli();
      await status.run(['sweep', 'status', id, '--json']);
      expect(JSON.parse(status.cap.stdout())).toMatchObject({ id, name: 'cli-sweep', status: 'queued' });

      const table = cli();
      await table.run(['sweep', 'results', id]);
      expect(table.cap.stdout()).toMatch(/^trial\s+method\s+scale\s+status/);

      const csv = cli();
      await csv.run(['sweep', 'results', id, '--format', 'csv']);
      expect(csv.cap.stdout().split('\n')[0]).toMatch(/^trial,method,status/);

      const json = cli();
      await json.run(['sweep', 'results', id, '--format', 'json']);
      const slim = JSON.parse(json.cap.stdout());
      expect(slim).toMatchObject({ sweepId: id, expectPassed: null });
      expect(slim.trials[0]).not.toHaveProperty('plan');

      const full = cli();
      await full.run(['sweep', 'results', id, '--json', '--full']);
      expect(JSON.parse(full.cap.stdout()).trials[0]).toMatchObject({
        plan: { name: slim.trials[0].name },
        result: null,
      });

      const cancel = cli();
      await cancel.run(['sweep', 'cancel', id]);
      expect(cancel.cap.stdout()).toBe(`sweep ${id}: cancelled\n`);
    });

    it('workers --json lists what heartbeats report (none here)', async () => {
      const w = cli();
      await w.run(['workers', '--json']);
      expect(JSON.parse(w.cap.stdout())).toEqual([]);
      const text = cli();
      await text.run(['workers']);
      expect(text.cap.stdout()).toMatch(/^no workers/);
    });

    it('fails with the documented codes: 2 for usage and validation, 3 when the API is unreachable, 4 for a silent worker', async () => {
      const usageCli = cli();
      const usage = await usageCli.run(['sweep', 'results', 'x', '--format', 'xml']).catch((e) => e);
      expect(usage.code).toBe('commander.invalidArgument');
      expect(usageCli.cap.stderr()).toContain("argument 'xml' is invalid");

      const bad = join(home, 'bad.yaml');
      writeFileSync(bad, tinySpecYaml().replace('steps: 3', 'steps: 0'));
      const invalid = await cli()
        .run(['sweep', 'submit', bad])
        .catch((e) => e);
      expect(isControlPlaneError(invalid) && invalid.exitCode).toBe(2);
      expect(invalid.issues.map((i: { path: string }) => i.path)).toContain('training.steps');

      const unreachable = await cli('http://127.0.0.1:1')
        .run(['sweep', 'list'])
        .catch((e) => e);
      expect(isControlPlaneError(unreachable) && unreachable.code).toBe('CP_ERR_API_UNREACHABLE');
      expect(unreachable.exitCode).toBe(3);

      const spec = join(home, 'params.yaml');
      writeFileSync(spec, tinySpecYaml());
      const silent = await cli()
        .run(['params', spec, '--worker', '127.0.0.1:1', '--timeout', '0.5'])
        .catch((e) => e);
      expect(isControlPlaneError(silent) && silent.code).toBe('CP_ERR_WORKER_UNREACHABLE');
      expect(silent.exitCode).toBe(4);
    });
  });
});
