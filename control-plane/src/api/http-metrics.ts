/** Request counts and latencies of the API itself, by route and status, for `/metrics`. */
export const HTTP_DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

interface Series {
  count: number;
  sum: number;
  buckets: number[];
}

export class HttpMetrics {
  /** key: method \0 route \0 status */
  readonly series = new Map<string, Series>();

  observe(method: string, route: string, status: number, seconds: number): void {
    const key = `${method}\0${route}\0${status}`;
    let s = this.series.get(key);
    if (!s) {
      s = { count: 0, sum: 0, buckets: HTTP_DURATION_BUCKETS.map(() => 0) };
      this.series.set(key, s);
    }
    s.count++;
    s.sum += seconds;
    HTTP_DURATION_BUCKETS.forEach((le, i) => {
      if (seconds <= le) s!.buckets[i]++;
    });
  }
}
