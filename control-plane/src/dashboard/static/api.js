// @ts-check
/**
 * The dashboard's view of the REST API: loading a sweep (its status, live progress and results from
 * GET /api/v1/sweeps/:id; its summary and plans from GET /api/v1/sweeps/:id/results?include=plan, merged per trial)
 * and following it live. (The detail already carries each trial's result, so the results document is not asked
 * for it a second time.)
 */
import { groupOf, trialFacts, UNFINISHED } from './format.js';

/** @typedef {import('./format.js').Trial} Trial */
/** @typedef {import('./format.js').TrialFacts} TrialFacts */
/** @typedef {import('./format.js').TrialResult} TrialResult */

export class ApiError extends Error {
  /** @param {number} status @param {string} code @param {string} message */
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/**
 * @param {string} path
 * @returns {Promise<any>}
 */
export async function getJson(path) {
  let res;
  try {
    // no-cache: the browser revalidates with the ETag each time, so an unchanged sweep costs a 304, not its body.
    res = await fetch(path, { headers: { accept: 'application/json' }, cache: 'no-cache' });
  } catch (err) {
    throw new ApiError(0, 'CP_ERR_API_UNREACHABLE', `the control plane did not answer (${/** @type {Error} */ (err).message})`);
  }
  const body = await res.json().catch(() => null);
  if (!res.ok) {
    const e = body?.error;
    throw new ApiError(res.status, String(e?.code ?? `HTTP_${res.status}`), String(e?.message ?? res.statusText));
  }
  return body;
}

/**
 * @typedef {{ total: number, queued: number, running: number, completed: number, failed: number,
 *   cancelled: number }} TrialCounts
 * @typedef {{ id: string, name: string, status: string, createdAt: string, finishedAt: string | null,
 *   trials?: TrialCounts,
 *   summary: { completed?: number, failed?: number, loraBaseline?: string | null } | null }} SweepListItem
 */

/**
 * The newest 200 sweeps, and how many there are in all. @returns {Promise<{ sweeps: SweepListItem[], total: number }>}
 */
export async function listSweeps() {
  const body = await getJson('/api/v1/sweeps?limit=200');
  const sweeps = Array.isArray(body?.sweeps) ? body.sweeps : [];
  return { sweeps, total: typeof body?.total === 'number' ? body.total : sweeps.length };
}

/**
 * @typedef {{
 *   sweep: { id: string, name: string, status: string, createdAt: string, finishedAt: string | null,
 *     description: string | null },
 *   trials: Trial[], tasks: string[], loraBaseline: string | null, completed: number, failed: number,
 *   expect: ExpectVerdict[]
 * }} SweepData
 * @typedef {{ name: string, passed: boolean, message: string }} ExpectVerdict
 */

/**
 * One consistent picture of a sweep.
 * @param {string} id
 * @returns {Promise<SweepData>}
 */
export async function loadSweep(id) {
  const enc = encodeURIComponent(id);
  const [detail, results] = await Promise.all([getJson(`/api/v1/sweeps/${enc}`), getJson(`/api/v1/sweeps/${enc}/results?include=plan`)]);
  /** @type {Map<string, any>} */
  const live = new Map((detail.trials ?? []).map((/** @type {any} */ t) => [t.trialKey, t]));
  /** @type {Trial[]} */
  const trials = (results.trials ?? []).map((/** @type {any} */ s) => {
    const d = live.get(s.trialKey) ?? {};
    /** @type {TrialFacts | null} */
    const plan = s.plan ? trialFacts(s.plan) : null;
    return {
      trialKey: String(s.trialKey),
      name: String(s.name),
      method: String(s.method),
      // What changes while a trial runs (status, progress) comes from the detail endpoint.
      status: String(d.status ?? s.status),
      trainable: s.trainable ?? null,
      finalLoss: s.finalLoss ?? null,
      meanAcc: s.meanAcc ?? null,
      loraShare: s.loraShare ?? null,
      accDelta: s.accDelta ?? null,
      onFront: Boolean(s.onFront),
      plan,
      result: d.result ?? null,
      progress: d.progress ?? null,
      reused: Boolean(d.reused),
      lastError: d.lastError ?? null,
      group: groupOf(String(s.method), plan),
    };
  });
  // Eval tasks in the spec's order, then any other task a result reports.
  /** @type {string[]} */
  const tasks = [];
  for (const t of trials) for (const task of t.plan?.evalTasks ?? []) if (!tasks.includes(task)) tasks.push(task);
  const extra = new Set();
  for (const t of trials) for (const task of Object.keys(t.result?.metrics ?? {})) if (!tasks.includes(task)) extra.add(task);
  tasks.push(.../** @type {string[]} */ ([...extra]).sort());
  const spec = detail.spec ?? {};
  return {
    sweep: {
      id: String(detail.id),
      name: String(detail.name),
      status: String(detail.status),
      createdAt: detail.createdAt,
      finishedAt: detail.finishedAt ?? null,
      description: typeof spec.description === 'string' ? spec.description : null,
    },
    trials,
    tasks,
    loraBaseline: results.loraBaseline ?? null,
    completed: Number(results.completed ?? 0),
    failed: Number(results.failed ?? 0),
    // The spec's `expect` rules judged on the results so far (final once the sweep has finished).
    expect: Array.isArray(results.expect)
      ? results.expect.map((/** @type {any} */ v) => ({ name: String(v.name), passed: Boolean(v.passed), message: String(v.message ?? '') }))
      : [],
  };
}

/** Event names the dashboard listens to on the SSE stream (unnamed `message` events too). Any of them triggers a reload. */
export const SSE_EVENTS = [
  'snapshot',
  'sweep',
  'progress',
  'trial',
  'trial-running',
  'trial-progress',
  'trial-finished',
  'trial-failed',
  'trial-cancelled',
  'sweep-running',
  'sweep-finished',
  'sweep-cancelled',
  'end',
];

export const POLL_MS = 2000;
const SAFETY_POLL_MS = 15000;
const MIN_RELOAD_MS = 1000;

/**
 * Follows a sweep until it finishes: server-sent events from GET /api/v1/sweeps/:id/events when the server has
 * them, otherwise (or when the stream fails) polling every 2 s. `refresh` reloads and redraws the sweep and says
 * whether it has finished.
 * @param {string} id
 * @param {{ refresh: () => Promise<boolean>,
 *   onMode: (mode: 'connecting' | 'sse' | 'polling' | 'offline' | 'finished') => void }} hooks
 * @returns {() => void} stop
 */
export function followSweep(id, hooks) {
  let stopped = false;
  /** @type {EventSource | null} */
  let source = null;
  /** @type {ReturnType<typeof setTimeout> | null} */
  let timer = null;
  /** @type {ReturnType<typeof setInterval> | null} */
  let safety = null;

  // Reloads are coalesced and spaced: while one runs, further triggers queue exactly one more, which starts at
  // least MIN_RELOAD_MS after the previous one (progress events arrive every training step).
  let running = false;
  let again = false;
  let lastStart = 0;
  const reload = async () => {
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      do {
        again = false;
        const wait = lastStart + MIN_RELOAD_MS - Date.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        if (stopped) return;
        lastStart = Date.now();
        let finished = false;
        try {
          finished = await hooks.refresh();
        } catch {
          finished = false;
        }
        if (finished && !stopped) {
          finish();
          return;
        }
      } while (again && !stopped);
    } finally {
      running = false;
    }
  };

  const finish = () => {
    stopped = true;
    source?.close();
    if (timer) clearTimeout(timer);
    if (safety) clearInterval(safety);
    hooks.onMode('finished');
  };

  const poll = () => {
    if (stopped) return;
    hooks.onMode('polling');
    const tick = async () => {
      if (stopped) return;
      let ok = true;
      let finished = false;
      try {
        finished = await hooks.refresh();
      } catch {
        ok = false;
      }
      if (stopped) return;
      if (finished) return finish();
      hooks.onMode(ok ? 'polling' : 'offline');
      timer = setTimeout(tick, ok ? POLL_MS : POLL_MS * 2);
    };
    timer = setTimeout(tick, POLL_MS);
  };

  if (typeof EventSource === 'undefined') {
    poll();
  } else {
    hooks.onMode('connecting');
    source = new EventSource(`/api/v1/sweeps/${encodeURIComponent(id)}/events`);
    const onEvent = () => void reload();
    source.addEventListener('open', () => !stopped && hooks.onMode('sse'));
    source.addEventListener('message', onEvent);
    for (const name of SSE_EVENTS) source.addEventListener(name, onEvent);
    // A stream that ends (the sweep finished), a server without the endpoint, or a dropped connection: reload
    // once, and poll if the sweep is still going.
    source.addEventListener('error', () => {
      source?.close();
      if (safety) clearInterval(safety);
      if (stopped) return;
      hooks
        .refresh()
        .catch(() => false)
        .then((finished) => (finished ? finish() : poll()));
    });
    // Belt and braces: an event name this page does not know still shows up within 15 s.
    safety = setInterval(() => void reload(), SAFETY_POLL_MS);
  }

  return () => {
    stopped = true;
    source?.close();
    if (timer) clearTimeout(timer);
    if (safety) clearInterval(safety);
  };
}
