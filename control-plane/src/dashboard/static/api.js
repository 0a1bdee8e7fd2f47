// @ts-check
/**
 * The dashboard's view of the REST API: loading a sweep's results table in columns (GET …/results?format=columns:
 * no plans, one array per field), one trial's plan and result when it is hovered (GET …/trials/:trialKey), and
 * following the sweep live by applying the server-sent events' deltas to what the page holds, with no download.
 */
import { groupOf, trialFacts, UNFINISHED } from './format.js';
import { LIVE_EVENT_NAMES } from './live-events.js';

/** @typedef {import('./format.js').Trial} Trial */
/** @typedef {import('./format.js').TrialFacts} TrialFacts */
/** @typedef {import('./format.js').TrialResult} TrialResult */
/** @typedef {import('./format.js').TrialDetail} TrialDetail */
/** @typedef {(typeof LIVE_EVENT_NAMES)[number]} LiveEventName */

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
    throw new ApiError(
      0,
      'CP_ERR_API_UNREACHABLE',
      `the control plane did not answer (${/** @type {Error} */ (err).message})`,
    );
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
 *   sweep: { id: string, name: string, status: string, createdAt: string, finishedAt: string | null, description:
 * string | null },
 *   trials: Trial[], byKey: Map<string, Trial>, tasks: string[], loraBaseline: string | null, completed: number,
 *   failed: number, expect: ExpectVerdict[], eventId: string
 * }} SweepData
 * @typedef {{ name: string, passed: boolean, message: string }} ExpectVerdict
 */

/** @param {any} list @returns {ExpectVerdict[]} */
const verdictsOf = (list) =>
  Array.isArray(list)
    ? list.map((/** @type {any} */ v) => ({
        name: String(v.name),
        passed: Boolean(v.passed),
        message: String(v.message ?? ''),
      }))
    : [];

/**
 * The page's picture of a sweep, from its results table in columns (GET …/results?format=columns): the header, one
 * Trial per row, the summary and the expect verdicts, and the id of the last event it includes.
 * @param {any} doc
 * @returns {SweepData}
 */
export function fromColumns(doc) {
  const c = doc.trials ?? {};
  const n = Array.isArray(c.trialKey) ? c.trialKey.length : 0;
  /** @type {string[]} */
  const tasks = Array.isArray(doc.tasks) ? doc.tasks.map(String) : [];
  /** @type {Trial[]} */
  const trials = new Array(n);
  for (let i = 0; i < n; i++) {
    const config = {
      rank: c.rank?.[i] ?? null,
      ranks: c.ranks?.[i] ?? null,
      shareMode: c.shareMode?.[i] ?? null,
      kronShareSize: c.kronShareSize?.[i] ?? null,
      gateShareSize: c.gateShareSize?.[i] ?? null,
      peftName: c.peftName?.[i] ?? null,
      seed: Number(c.seed?.[i] ?? 0),
    };
    /** @type {Record<string, number | null>} */
    const accuracy = {};
    for (const task of tasks) accuracy[task] = c.accuracy?.[task]?.[i] ?? null;
    /** @type {Record<string, number | null>} */
    const footprint = {};
    for (const [key, values] of Object.entries(c.footprint ?? {}))
      footprint[key] = /** @type {any[]} */ (values)[i] ?? null;
    const method = String(c.method[i]);
    trials[i] = {
      trialKey: String(c.trialKey[i]),
      name: String(c.name[i]),
      method,
      scale: c.scale?.[i] ?? null,
      status: String(c.status[i]),
      trainable: c.trainable?.[i] ?? null,
      finalLoss: c.finalLoss?.[i] ?? null,
      meanAcc: c.meanAcc?.[i] ?? null,
      loraShare: c.loraShare?.[i] ?? null,
      accDelta: c.accDelta?.[i] ?? null,
      onFront: Boolean(c.onFront?.[i]),
      config,
      accuracy,
      footprint,
      progress: null,
      reused: Boolean(c.reused?.[i]),
      lastError: c.lastError?.[i] ?? null,
      group: groupOf(method, config),
    };
  }
  const sweep = doc.sweep ?? {};
  return {
    sweep: {
      id: String(sweep.id),
      name: String(sweep.name),
      status: String(sweep.status),
      createdAt: sweep.createdAt,
      finishedAt: sweep.finishedAt ?? null,
      description: typeof sweep.description === 'string' ? sweep.description : null,
    },
    trials,
    byKey: new Map(trials.map((t) => [t.trialKey, t])),
    tasks,
    loraBaseline: doc.loraBaseline ?? null,
    completed: Number(doc.completed ?? 0),
    failed: Number(doc.failed ?? 0),
    // The spec's `expect` rules judged on the results so far (final once the sweep has finished).
    expect: verdictsOf(doc.expect),
    eventId: String(doc.eventId ?? ''),
  };
}

/**
 * One consistent picture of a sweep: its results table in columns, without plans (those load on demand).
 * @param {string} id
 * @returns {Promise<SweepData>}
 */
export async function loadSweep(id) {
  return fromColumns(await getJson(`/api/v1/sweeps/${encodeURIComponent(id)}/results?format=columns`));
}

/**
 * A trial's plan and whole result (the hover card's configuration and per-task metrics).
 * @param {string} sweepId
 * @param {string} trialKey
 * @returns {Promise<TrialDetail>}
 */
export async function loadTrialDetail(sweepId, trialKey) {
  const body = await getJson(`/api/v1/sweeps/${encodeURIComponent(sweepId)}/trials/${encodeURIComponent(trialKey)}`);
  return { plan: body.plan ? trialFacts(body.plan, String(body.method), null) : null, result: body.result ?? null };
}

/**
 * Applies one live event to the page's picture, in place; the caller redraws (and re-summarises) when it likes.
 * Returns whether anything changed.
 * @param {SweepData} data
 * @param {LiveEventName} name
 * @param {any} payload
 */
export function applyEvent(data, name, payload) {
  const trial = typeof payload?.trialKey === 'string' ? data.byKey.get(payload.trialKey) : undefined;
  switch (name) {
    case 'snapshot': {
      data.sweep.status = String(payload.status ?? data.sweep.status);
      data.sweep.finishedAt = payload.finishedAt ?? data.sweep.finishedAt;
      for (const [key, progress] of Object.entries(payload.progress ?? {})) {
        const t = data.byKey.get(key);
        if (!t) continue;
        if (UNFINISHED.has(t.status)) t.status = 'running';
        t.progress = /** @type {any} */ (progress);
      }
      return true;
    }
    case 'trial-running':
      if (!trial || !UNFINISHED.has(trial.status)) return false;
      trial.status = 'running';
      return true;
    case 'trial-progress':
      if (!trial) return false;
      trial.progress = payload.progress ?? null;
      return true;
    case 'trial-finished': {
      if (!trial) return false;
      const row = payload.row ?? {};
      trial.status = String(payload.status ?? row.status ?? trial.status);
      trial.trainable = row.trainable ?? null;
      trial.finalLoss = row.finalLoss ?? null;
      trial.meanAcc = row.meanAcc ?? null;
      trial.lastError = row.lastError ?? null;
      trial.reused = Boolean(row.reused);
      trial.progress = null;
      if (row.config) trial.config = { ...trial.config, ...row.config };
      trial.group = groupOf(trial.method, trial.config);
      /** @type {Record<string, number | null>} */
      const accuracy = {};
      for (const task of data.tasks) accuracy[task] = null;
      for (const [task, acc] of Object.entries(row.accuracy ?? {})) {
        if (!data.tasks.includes(task)) data.tasks.push(task);
        accuracy[task] = typeof acc === 'number' ? acc : null;
      }
      trial.accuracy = accuracy;
      trial.footprint = row.footprint ?? {};
      return true;
    }
    case 'sweep-finished':
    case 'end': {
      if (payload?.status) data.sweep.status = String(payload.status);
      if (payload?.finishedAt) data.sweep.finishedAt = payload.finishedAt;
      const summary = payload?.summary;
      if (summary && Array.isArray(summary.expect)) data.expect = verdictsOf(summary.expect);
      return true;
    }
    default:
      return false;
  }
}

export const POLL_MS = 2000;
/** Reloads in a row that may each answer `resumed: false` before the page gives up on events and polls. */
const MAX_FRESH_STARTS = 3;

/**
 * Follows a sweep until it finishes, from the table the page holds (whose `eventId` says where it stands): server-
 * sent events from GET /api/v1/sweeps/:id/events?since=<eventId>, each applied by `onEvent` as it comes. A stream
 * that cannot resume (the server no longer holds what the page missed) makes the page `reload` once and follow on
 * from the fresh table; a dropped connection is resumed by the browser with Last-Event-ID. Without the endpoint (or
 * after repeated fresh starts) the page polls `reload` every 2 s, each request revalidated with its ETag.
 * @param {string} id
 * @param {string} eventId
 * @param {{ onEvent: (name: LiveEventName, payload: any) => void, reload: () => Promise<SweepData>,
 *   onMode: (mode: 'connecting' | 'sse' | 'polling' | 'offline' | 'finished') => void }} hooks
 * @returns {() => void} stop
 */
export function followSweep(id, eventId, hooks) {
  let stopped = false;
  /** @type {EventSource | null} */
  let source = null;
  /** @type {ReturnType<typeof setTimeout> | null} */
  let timer = null;
  let since = eventId;
  let freshStarts = 0;

  const finish = () => {
    stopped = true;
    source?.close();
    if (timer) clearTimeout(timer);
    hooks.onMode('finished');
  };

  const poll = () => {
    if (stopped) return;
    source?.close();
    hooks.onMode('polling');
    const tick = async () => {
      if (stopped) return;
      let ok = true;
      let finished = false;
      try {
        finished = !UNFINISHED.has((await hooks.reload()).sweep.status);
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

  /** The table is stale beyond what the server can replay: load it afresh and follow on from it. */
  const restart = async () => {
    source?.close();
    freshStarts += 1;
    if (freshStarts > MAX_FRESH_STARTS) return poll();
    try {
      const d = await hooks.reload();
      if (stopped) return;
      if (!UNFINISHED.has(d.sweep.status)) return finish();
      since = d.eventId;
      open();
    } catch {
      poll();
    }
  };

  const open = () => {
    if (stopped) return;
    hooks.onMode('connecting');
    const es = new EventSource(
      `/api/v1/sweeps/${encodeURIComponent(id)}/events${since ? `?since=${encodeURIComponent(since)}` : ''}`,
    );
    source = es;
    es.addEventListener('open', () => !stopped && hooks.onMode('sse'));
    for (const name of LIVE_EVENT_NAMES) {
      es.addEventListener(name, (ev) => {
        if (stopped || source !== es) return;
        const message = /** @type {MessageEvent} */ (ev);
        let payload;
        try {
          payload = JSON.parse(message.data);
        } catch {
          return;
        }
        // Where a new connection of ours follows on from (the browser's own reconnects send it as Last-Event-ID).
        if (message.lastEventId && name !== 'snapshot') since = message.lastEventId;
        if (name === 'snapshot' && !payload.resumed) {
          void restart();
          return;
        }
        if (name === 'snapshot') freshStarts = 0;
        hooks.onEvent(name, payload);
        if (name === 'end') {
          es.close();
          if (!UNFINISHED.has(String(payload?.status))) finish();
          // The server is shutting down: come back when it is up again, from the last event seen.
          else timer = setTimeout(open, 3000);
        }
      });
    }
    es.addEventListener('error', () => {
      if (stopped || source !== es) return;
      // CLOSED: the server answered with something other than a stream (an older server without the endpoint).
      // Otherwise the browser reconnects by itself, sending Last-Event-ID.
      if (es.readyState === EventSource.CLOSED) poll();
      else hooks.onMode('offline');
    });
  };

  if (typeof EventSource === 'undefined') poll();
  else open();

  return () => {
    stopped = true;
    source?.close();
    if (timer) clearTimeout(timer);
  };
}
