import { describe, expect, it } from 'vitest';
import { SWEEP_STATUSES, TRIAL_STATUSES, UNFINISHED_STATUSES } from '../store/statuses.js';

describe('the dashboard statuses', () => {
  it("are the store's lists, in the same order", async () => {
    // Imported by URL: the browser module is plain JavaScript, outside the TypeScript project.
    const browser = (await import(new URL('./static/statuses.js', import.meta.url).href)) as Record<
      string,
      readonly string[]
    >;
    expect({ ...browser }).toEqual({
      TRIAL_STATUSES: [...TRIAL_STATUSES],
      SWEEP_STATUSES: [...SWEEP_STATUSES],
      UNFINISHED_STATUSES: [...UNFINISHED_STATUSES],
    });
  });
});
