/**
 * Issue 13, items 3 and 4 of the reproductions: a webhook secret cannot sign anything, and webhooks reach only
 * allowed hosts. Real ControlPlane on a real Redis (unique prefix); the receiving server listens on the loopback,
 * which the tests that need it allow explicitly (BSLORA_WEBHOOK_ALLOW_NETWORKS).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../control-plane/src/api/app.js';
import { ControlPlane } from '../../control-plane/src/control-plane.js';
import { minimalSpec } from '../../control-plane/src/sweep-specs/test-fixtures.js';
import { refusedUrl, webhookPolicyFrom } from '../../control-plane/src/webhooks/destination-policy.js';
import { signGithubPayload } from '../../control-plane/src/webhooks/github-signature.js';
import { RefusedDestinationError, postWebhook } from '../../control-plane/src/webhooks/post-webhook.js';
import {
  MAX_WEBHOOK_ATTEMPTS,
  WEBHOOK_QUEUE,
  startWebhookDispatcher,
} from '../../control-plane/src/webhooks/webhook-dispatcher.js';
import { deleteKeysWithPrefix, TEST_REDIS_URL, uniquePrefix } from '../helpers/redis.js';
import { startWebhookReceiver } from '../helpers/webhook-receiver.js';

const TOKEN = 'webhook-test-token';
const SHARED_SECRET = 'one-secret-for-both';
const auth = { authorization: `Bearer ${TOKEN}` };

describe('webhooks', () => {
  const prefix = uniquePrefix('hooksec');
  const home = mkdtempSync(join(tmpdir(), 'bslora-hooksec-'));
  let receiver: Awaited<ReturnType<typeof startWebhookReceiver>>;
  let cp: ControlPlane;
  let app: FastifyInstance;

  beforeAll(async () => {
    receiver = await startWebhookReceiver();
    // The worst case: the operator gave the webhook secret the same value as the GitHub hook's.
    const env = {
      BSLORA_WEBHOOK_SECRET_CI: SHARED_SECRET,
      BSLORA_WEBHOOK_ALLOW_HOSTS: '127.0.0.1,hooks.example.com,localhost',
      BSLORA_WEBHOOK_ALLOW_NETWORKS: '127.0.0.0/8',
    };
    cp = await ControlPlane.start({ redisUrl: TEST_REDIS_URL, prefix, homeDir: home, env });
    app = buildApp({ controlPlane: cp, token: TOKEN, env: { BSLORA_GITHUB_HOOK_SECRET: SHARED_SECRET } });
    await app.ready(); // the spec-checking thread has loaded before anything is measured
  });

  afterAll(async () => {
    await app?.close();
    await cp?.close();
    await receiver?.close();
    await deleteKeysWithPrefix(prefix);
    rmSync(home, { recursive: true, force: true });
  });

  const submit = (spec: Record<string, unknown>) =>
    app.inject({
      method: 'POST',
      url: '/api/v1/sweeps',
      payload: stringify(spec),
      headers: { ...auth, 'content-type': 'application/yaml' },
    });

  it('refuses secret_env naming the API token, the hook secret or any variable outside BSLORA_WEBHOOK_SECRET_*', async () => {
    for (const name of ['BSLORA_API_TOKEN', 'BSLORA_GITHUB_HOOK_SECRET', 'HOME', 'bslora_webhook_secret_ci']) {
      const res = await submit(minimalSpec({ notify: [{ url: receiver.url, secret_env: name }] }));
      expect(res.statusCode, name).toBe(400);
      expect(res.json().error.issues).toEqual([
        {
          path: 'notify[0].secret_env',
          message: expect.stringContaining('must name a variable BSLORA_WEBHOOK_SECRET_<NAME>'),
        },
      ]);
    }
  });

  it('the &payload= forgery: a webhook body cannot be replayed to the GitHub hook as a signed push', async () => {
    const forged = JSON.stringify({
      ref: 'refs/heads/main',
      after: 'f'.repeat(40),
      repository: { full_name: 'evil/repo' },
    });
    const spec = minimalSpec({
      name: 'forgery',
      notify: [{ url: receiver.url, secret_env: 'BSLORA_WEBHOOK_SECRET_CI' }],
      expect: [{ name: `&payload=${forged}&`, best: 'lora', at_least: 0 }],
    });
    const res = await submit(spec);
    expect(res.statusCode, res.body).toBe(201);
    const id = res.json().id as string;
    await app.inject({ method: 'POST', url: `/api/v1/sweeps/${id}/cancel`, headers: auth });
    const [hook] = await receiver.waitFor(1);
    const body = hook!.body;
    // JSON, and no part of it decodes as a form field.
    expect(JSON.parse(body).summary.expect[0].name).toBe(`&payload=${forged}&`);
    expect(new URLSearchParams(body).has('payload')).toBe(false);
    expect(body).not.toContain('&');

    // What the signature header signs, posted to the GitHub hook with GitHub's header computed from it.
    const [t, v1] = String(hook!.headers['x-bslora-signature'])
      .split(',')
      .map((p) => p.split('=')[1]!);
    const signedText = `${t}.${body}`;
    expect(signGithubPayload(SHARED_SECRET, signedText)).toBe(`sha256=${v1}`);
    const before = cp.store.listSweeps().length;
    const asForm = await app.inject({
      method: 'POST',
      url: '/api/v1/hooks/github?spec=quickstart.yaml',
      payload: signedText,
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-github-event': 'push',
        'x-hub-signature-256': `sha256=${v1}`,
      },
    });
    expect(asForm.statusCode).toBe(415);
    expect(asForm.json().error.code).toBe('CP_ERR_API_MEDIA_TYPE');
    const asJson = await app.inject({
      method: 'POST',
      url: '/api/v1/hooks/github?spec=quickstart.yaml',
      payload: signedText,
      headers: { 'content-type': 'application/json', 'x-github-event': 'push', 'x-hub-signature-256': `sha256=${v1}` },
    });
    expect(asJson.statusCode).toBe(400);
    expect(asJson.json().error.code).toBe('CP_ERR_HOOK_REQUEST');
    expect(cp.store.listSweeps()).toHaveLength(before);
  });

  it('queues each delivery with the capped retry budget (5 by default, never more than 8)', async () => {
    const sweep = cp.store.listSweeps().find((s) => s.name === 'forgery')!;
    const webhookQueue = new Queue(WEBHOOK_QUEUE, { connection: cp.ctx.connection, prefix });
    expect((await webhookQueue.getJob(`notify.${sweep.id}.0`))!.opts.attempts).toBe(5);
    await webhookQueue.close();
    const other = uniquePrefix('hooksec-budget');
    const dispatcher = await startWebhookDispatcher({ connection: cp.ctx.connection, prefix: other }, cp.store, {
      attempts: 1000,
      policy: cp.webhookPolicy,
      concurrency: 1,
    });
    try {
      await dispatcher.sweepEnded(sweep.id);
      const q = new Queue(WEBHOOK_QUEUE, { connection: cp.ctx.connection, prefix: other });
      expect((await q.getJob(`notify.${sweep.id}.0`))!.opts.attempts).toBe(MAX_WEBHOOK_ATTEMPTS);
      await q.close();
    } finally {
      await dispatcher.close();
      await deleteKeysWithPrefix(other);
    }
  });

  it('refuses more than 5 notify targets per spec', async () => {
    const res = await submit(
      minimalSpec({ notify: Array.from({ length: 6 }, (_, i) => ({ url: `https://hooks.example.com/${i}` })) }),
    );
    expect(res.statusCode).toBe(400);
    expect(res.json().error.issues).toEqual([{ path: 'notify', message: 'must have at most 5 items' }]);
  });

  it('refuses every SSRF target of the reproduction at submit, with the fix named', async () => {
    const noNetworks = webhookPolicyFrom({
      BSLORA_WEBHOOK_ALLOW_HOSTS: '127.0.0.1,0.0.0.0,::ffff:7f00:1,169.254.169.254,10.0.0.1',
    });
    for (const url of [
      'http://127.0.0.1:7433/api/v1/sweeps',
      'http://127.1/',
      'http://2130706433/',
      'http://0x7f.1/',
      'http://0.0.0.0/',
      'http://[::ffff:127.0.0.1]/',
      'http://169.254.169.254/latest/meta-data',
      'http://10.0.0.1/',
    ]) {
      expect(refusedUrl(url, noNetworks), url).toMatch(
        /loopback, private, link-local or reserved address; an operator can allow its network with BSLORA_WEBHOOK_ALLOW_NETWORKS/,
      );
    }
    expect(refusedUrl('https://elsewhere.example.org/x', noNetworks)).toMatch(
      /not in this control plane's webhook allowlist/,
    );
    expect(refusedUrl('https://hooks.example.com/x', webhookPolicyFrom({}))).toMatch(
      /allows no webhook destinations \(the operator sets BSLORA_WEBHOOK_ALLOW_HOSTS\)/,
    );
    expect(
      refusedUrl(
        'https://ci.hooks.example.com/x',
        webhookPolicyFrom({ BSLORA_WEBHOOK_ALLOW_HOSTS: '*.hooks.example.com' }),
      ),
    ).toBeNull();

    // Over REST (this server allows 127.0.0.0/8, so another control plane without it is used).
    const strict = await ControlPlane.start({
      redisUrl: TEST_REDIS_URL,
      prefix: `${prefix}-strict`,
      homeDir: join(home, 'strict'),
      env: {},
    });
    const strictApp = buildApp({ controlPlane: strict, token: TOKEN, env: {} });
    try {
      for (const url of [
        'http://127.0.0.1/',
        'http://localhost/',
        'http://127.1/',
        'http://2130706433/',
        'http://0.0.0.0/',
        'http://[::ffff:127.0.0.1]/',
        'http:///etc/passwd',
      ]) {
        const res = await strictApp.inject({
          method: 'POST',
          url: '/api/v1/sweeps',
          payload: stringify(minimalSpec({ notify: [{ url }] })),
          headers: { ...auth, 'content-type': 'application/yaml' },
        });
        expect(res.statusCode, url).toBe(400);
        expect(res.json().error.issues[0].path).toBe('notify[0].url');
      }
      expect(strict.store.listSweeps()).toHaveLength(0);
    } finally {
      await strictApp.close();
      await strict.close();
      await deleteKeysWithPrefix(`${prefix}-strict`);
    }
  });

  it('refuses an allowed name that resolves to the loopback at delivery (DNS), and never follows a redirect', async () => {
    const hits: string[] = [];
    const server = createServer((req, res) => {
      hits.push(req.url ?? '');
      if (req.url === '/redirect')
        res.writeHead(302, { location: `http://127.0.0.1:${(server.address() as AddressInfo).port}/landed` }).end();
      else res.writeHead(200).end('ok');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    try {
      const namesOnly = webhookPolicyFrom({ BSLORA_WEBHOOK_ALLOW_HOSTS: 'localhost' });
      const err = await postWebhook(`http://localhost:${port}/x`, {}, '{}', {
        policy: namesOnly,
        timeoutMs: 5_000,
      }).catch((e: Error) => e);
      expect(err).toBeInstanceOf(RefusedDestinationError);
      expect((err as Error).message).toMatch(/localhost resolves to an address that is a loopback/);
      expect(hits).toEqual([]);

      const loopback = webhookPolicyFrom({
        BSLORA_WEBHOOK_ALLOW_HOSTS: '127.0.0.1',
        BSLORA_WEBHOOK_ALLOW_NETWORKS: '127.0.0.0/8',
      });
      expect(
        await postWebhook(`http://127.0.0.1:${port}/redirect`, {}, '{}', { policy: loopback, timeoutMs: 5_000 }),
      ).toBe(302);
      expect(hits).toEqual(['/redirect']);
    } finally {
      server.close();
    }
  });

  describe('GitHub hook replays', () => {
    const push = JSON.stringify({
      ref: 'refs/heads/main',
      after: 'a'.repeat(40),
      repository: { full_name: 'acme/bslora' },
    });
    const deliver = (delivery: string, type = 'application/json') =>
      app.inject({
        method: 'POST',
        url: '/api/v1/hooks/github?spec=quickstart.yaml',
        payload: push,
        headers: {
          'content-type': type,
          'x-github-event': 'push',
          'x-github-delivery': delivery,
          'x-hub-signature-256': signGithubPayload(SHARED_SECRET, push),
        },
      });

    it('submits once; the same delivery id answers with that sweep; the same body under a new id is refused (409)', async () => {
      const first = await deliver('d-1');
      expect(first.statusCode, first.body).toBe(201);
      const again = await deliver('d-1');
      expect(again.statusCode).toBe(200);
      expect(again.json().sweepId).toBe(first.json().sweepId);
      const before = cp.store.listSweeps().length;
      for (const id of ['d-2', 'd-3']) {
        const replay = await deliver(id);
        expect(replay.statusCode).toBe(409);
        expect(replay.json().error).toMatchObject({
          code: 'CP_ERR_HOOK_REPLAYED',
          message: expect.stringContaining(first.json().sweepId),
        });
      }
      expect(cp.store.listSweeps()).toHaveLength(before);
    });

    it('accepts only application/json (415 for forms)', async () => {
      const res = await deliver('d-9', 'application/x-www-form-urlencoded');
      expect(res.statusCode).toBe(415);
    });
  });
});
