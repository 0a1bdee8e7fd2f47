/**
 * The server-sent event names are declared once (static/live-events.js): the server sends exactly those names and
 * the dashboard listens to exactly those, both by importing the list. The type checker holds the server to it (its
 * send takes only a name of the list); this test reads both sides' sources for names written out by hand.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { LIVE_EVENT_NAMES } from './static/live-events.js';

const read = (rel: string) => readFileSync(new URL(rel, import.meta.url), 'utf8');
const STATIC = new URL('./static/', import.meta.url);

describe('live event names', () => {
  it('are one list of distinct names', () => {
    expect(new Set(LIVE_EVENT_NAMES).size).toBe(LIVE_EVENT_NAMES.length);
    expect(LIVE_EVENT_NAMES[0]).toBe('snapshot');
    expect(LIVE_EVENT_NAMES.at(-1)).toBe('end');
  });

  it('are what the server sends, all of them and no other', () => {
    const handler = read('../api/handlers/get-sweep-events.ts');
    const log = read('../api/sweep-event-log.ts');
    expect(handler).toContain("import type { LiveEventName, SweepEvent } from '../sweep-event-log.js';");
    expect(log).toContain("import { LIVE_EVENT_NAMES } from '../dashboard/static/live-events.js'");
    // Every name written at a send: send('x', …) in the handler, this.emit(sweepId, 'x', …) in the log.
    const sent = new Set(
      [...handler.matchAll(/\bsend\(\s*'([a-z-]+)'/g), ...log.matchAll(/\bemit\(\s*sweepId,\s*'([a-z-]+)'/g)].map(
        (m) => m[1],
      ),
    );
    expect([...sent].sort()).toEqual([...LIVE_EVENT_NAMES].sort());
  });

  it('are what the dashboard listens to: the imported list, and no name of its own', () => {
    const api = read('./static/api.js');
    expect(api).toContain("import { LIVE_EVENT_NAMES } from './live-events.js';");
    expect(api).toMatch(/for \(const name of LIVE_EVENT_NAMES\)\s*\{\s*es\.addEventListener\(name,/);
    for (const file of readdirSync(STATIC).filter((f) => f.endsWith('.js') && f !== 'live-events.js')) {
      const src = readFileSync(new URL(file, STATIC), 'utf8');
      // An EventSource's own events are `open` and `error`; a listener for any other literal name would be a second
      // list.
      const literal = [...src.matchAll(/\bes\.addEventListener\(\s*'([a-z-]+)'/g)].map((m) => m[1]);
      expect(
        literal.filter((n) => n !== 'open' && n !== 'error'),
        file,
      ).toEqual([]);
      // A name in a `case` is one the list has (applyEvent's switch).
      for (const m of src.matchAll(/case '([a-z-]+)':/g))
        if (/-/.test(m[1]) || m[1] === 'end' || m[1] === 'snapshot')
          expect(LIVE_EVENT_NAMES, `${file}: case '${m[1]}'`).toContain(m[1]);
    }
  });
});
