/** Reads a server-sent-events response (fetch) into events until the stream ends or `until` says stop. */
export interface SseEvent {
  event: string;
  id: string | null;
  data: unknown;
}

export function parseSse(text: string): { events: SseEvent[]; comments: string[]; rest: string } {
  const blocks = text.split('\n\n');
  const rest = blocks.pop() ?? '';
  const events: SseEvent[] = [];
  const comments: string[] = [];
  for (const block of blocks) {
    let event = 'message';
    let id: string | null = null;
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) comments.push(line.slice(1).trim());
      else if (line.startsWith('event: ')) event = line.slice(7);
      else if (line.startsWith('id: ')) id = line.slice(4);
      else if (line.startsWith('data: ')) data.push(line.slice(6));
    }
    if (data.length) events.push({ event, id, data: JSON.parse(data.join('\n')) });
  }
  return { events, comments, rest };
}

export async function readSse(
  res: Response,
  opts: { until?: (e: SseEvent) => boolean; onEvent?: (e: SseEvent) => void } = {},
): Promise<{ events: SseEvent[]; comments: string[]; ended: boolean }> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  const events: SseEvent[] = [];
  const comments: string[] = [];
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return { events, comments, ended: true };
    buffer += decoder.decode(value, { stream: true });
    const parsed = parseSse(buffer);
    buffer = parsed.rest;
    comments.push(...parsed.comments);
    for (const e of parsed.events) {
      events.push(e);
      opts.onEvent?.(e);
      if (opts.until?.(e)) {
        await reader.cancel();
        return { events, comments, ended: false };
      }
    }
  }
}
