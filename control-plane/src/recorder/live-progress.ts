/**
 * The latest progress report of each running trial, as the recorder hears it (held in memory: progress is
 * ephemeral and never stored). A Map with a version that every write bumps, so that a cached view which shows
 * progress (GET /api/v1/sweeps/:id through api/view-cache.ts) can tell that it is stale without comparing contents.
 */
export class LiveProgress extends Map<string, unknown> {
  private writes = 0;

  /** Changes whenever an entry is set, deleted or the map cleared. */
  get version(): number {
    return this.writes;
  }

  override set(trialKey: string, progress: unknown): this {
    this.writes++;
    return super.set(trialKey, progress);
  }

  override delete(trialKey: string): boolean {
    this.writes++;
    return super.delete(trialKey);
  }

  override clear(): void {
    this.writes++;
    super.clear();
  }
}
