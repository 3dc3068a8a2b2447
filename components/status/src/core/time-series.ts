/**
 * The status page's charts: one fixed grid of time buckets (by default an hour of 10 s buckets) shared
 * by every series, kept in preallocated rings. Memory is fixed when the window is made (buckets x
 * series x 16 bytes: 360 x 16 x 16 = 92 KiB at most), whatever the traffic, and nothing is kept past
 * the window. A bucket holds the mean of the values recorded in it (a gauge sampled every second gives
 * its 10 s mean; one sampled every 10 s its value), or for a `sum` series their sum (events per bucket).
 */
export type SeriesMode = 'mean' | 'sum';

export interface SeriesPoints {
  readonly bucketMs: number;
  /** Start of the first bucket listed; bucket i starts at fromMs + i * bucketMs. */
  readonly fromMs: number;
  /** Per series, one value per bucket from fromMs to the newest, null where nothing was recorded. */
  readonly series: Readonly<Record<string, readonly (number | null)[]>>;
}

export class SeriesWindow {
  private readonly sums = new Map<string, Float64Array>();
  private readonly counts = new Map<string, Float64Array>();
  private readonly modes = new Map<string, SeriesMode>();
  /** Index (tsMs / bucketMs, floored) of the newest bucket, or null before the first value. */
  private head: number | null = null;

  constructor(
    readonly bucketMs: number,
    readonly buckets: number,
    /** Series beyond this many are not recorded (names come from the suite's documents). */
    readonly maxSeries = 16,
  ) {
    if (!(bucketMs > 0 && Number.isInteger(buckets) && buckets > 0))
      throw new RangeError('a series window needs a positive bucket length and count');
  }

  get windowMs(): number {
    return this.bucketMs * this.buckets;
  }

  names(): string[] {
    return [...this.sums.keys()];
  }

  /**
   * Adds a value at a time; values older than the window, and non-finite ones, are ignored. A series
   * keeps the mode it was first recorded with.
   */
  record(name: string, tsMs: number, value: number, mode: SeriesMode = 'mean'): void {
    if (!Number.isFinite(value) || !Number.isFinite(tsMs)) return;
    const bucket = Math.floor(tsMs / this.bucketMs);
    this.advance(bucket);
    const head = this.head as number;
    if (bucket <= head - this.buckets) return;
    let sums = this.sums.get(name);
    let counts = this.counts.get(name);
    if (sums === undefined || counts === undefined) {
      if (this.sums.size >= this.maxSeries) return;
      sums = new Float64Array(this.buckets);
      counts = new Float64Array(this.buckets);
      this.sums.set(name, sums);
      this.counts.set(name, counts);
      this.modes.set(name, mode);
    }
    const slot = this.slot(bucket);
    sums[slot] = (sums[slot] ?? 0) + value;
    counts[slot] = (counts[slot] ?? 0) + 1;
  }

  /** Moves the window so that `nowMs` is in its newest bucket (the page then shows a gap, not old data). */
  advanceTo(nowMs: number): void {
    if (Number.isFinite(nowMs)) this.advance(Math.floor(nowMs / this.bucketMs));
  }

  /** The buckets from `sinceMs` (default: the whole window) to the newest one. */
  points(sinceMs?: number): SeriesPoints {
    const series: Record<string, (number | null)[]> = {};
    if (this.head === null) return { bucketMs: this.bucketMs, fromMs: 0, series };
    const oldest = this.head - this.buckets + 1;
    const first = Math.max(oldest, sinceMs === undefined ? oldest : Math.floor(sinceMs / this.bucketMs));
    for (const [name, sums] of this.sums) {
      const counts = this.counts.get(name) as Float64Array;
      const sum = this.modes.get(name) === 'sum';
      const values: (number | null)[] = [];
      for (let b = first; b <= this.head; b++) {
        const slot = this.slot(b);
        const n = counts[slot] ?? 0;
        const total = sums[slot] ?? 0;
        values.push(n === 0 ? (sum ? 0 : null) : sum ? total : total / n);
      }
      series[name] = values;
    }
    return { bucketMs: this.bucketMs, fromMs: first * this.bucketMs, series };
  }

  private slot(bucket: number): number {
    return ((bucket % this.buckets) + this.buckets) % this.buckets;
  }

  /** Clears the buckets the window moves past (at most the whole ring). */
  private advance(bucket: number): void {
    if (this.head === null) {
      this.head = bucket;
      return;
    }
    if (bucket <= this.head) return;
    const steps = Math.min(bucket - this.head, this.buckets);
    for (let i = 1; i <= steps; i++) {
      const slot = this.slot(this.head + i);
      for (const sums of this.sums.values()) sums[slot] = 0;
      for (const counts of this.counts.values()) counts[slot] = 0;
    }
    this.head = bucket;
  }
}

/**
 * A rate from a counter (records delivered, readings accepted) over the last `windowMs`: it survives the
 * counter starting again from zero (a component restarted) by counting from the new value.
 */
export class RateMeter {
  private readonly times: Float64Array;
  private readonly totals: Float64Array;
  private size = 0;
  private next = 0;
  private lastRaw: number | null = null;
  private total = 0;

  constructor(
    readonly windowMs: number,
    capacity = 64,
  ) {
    this.times = new Float64Array(capacity);
    this.totals = new Float64Array(capacity);
  }

  /** Adds a counter reading; returns the rate since the previous reading (per second), or null. */
  observe(raw: number, nowMs: number): number | null {
    if (!Number.isFinite(raw) || !Number.isFinite(nowMs)) return null;
    const previousTime = this.size === 0 ? null : (this.times[this.newestSlot()] ?? null);
    const previousTotal = this.total;
    const increase = this.lastRaw === null ? 0 : raw >= this.lastRaw ? raw - this.lastRaw : raw;
    this.lastRaw = raw;
    this.total += increase;
    this.times[this.next] = nowMs;
    this.totals[this.next] = this.total;
    this.next = (this.next + 1) % this.times.length;
    this.size = Math.min(this.size + 1, this.times.length);
    if (previousTime === null || nowMs <= previousTime) return null;
    return ((this.total - previousTotal) * 1000) / (nowMs - previousTime);
  }

  /** Per second over the readings of the last windowMs (at least two readings), or null. */
  rate(nowMs: number): number | null {
    if (this.size < 2) return null;
    const newest = this.newestSlot();
    let oldest = newest;
    for (let i = 1; i < this.size; i++) {
      const slot = (newest - i + this.times.length) % this.times.length;
      if (nowMs - (this.times[slot] ?? 0) > this.windowMs) break;
      oldest = slot;
    }
    const dt = (this.times[newest] ?? 0) - (this.times[oldest] ?? 0);
    if (dt <= 0 || nowMs - (this.times[newest] ?? 0) > this.windowMs) return null;
    return (((this.totals[newest] ?? 0) - (this.totals[oldest] ?? 0)) * 1000) / dt;
  }

  private newestSlot(): number {
    return (this.next - 1 + this.times.length) % this.times.length;
  }
}
