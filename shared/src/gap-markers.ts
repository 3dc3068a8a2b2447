import type { Lane } from './record';

/** Gap markers travel in the alert lane on this stream, so the cloud learns what was dropped. */
export const GAP_MARKER_STREAM = 'dr/gap';

/** What a gap marker says of one stream: how many of its records were evicted, and their time range. */
export interface StreamGap {
  readonly lane: Lane;
  readonly records: number;
  readonly fromTsMs: number;
  readonly toTsMs: number;
}

/** A record as far as gap coverage needs it. */
export interface GapSubject {
  readonly lane: string;
  readonly stream: string;
  readonly tsMs: number;
}

/**
 * The one rule for what a gap marker accounts for, used by cloud consumers (it ships with the envelope
 * decoder), the demo and the chaos suite: a record is named by a marker when the marker lists the
 * record's lane and stream and the record's time lies within that stream's evicted range. A marker's
 * overall range says nothing about other streams.
 */
export class GapCoverage {
  private readonly ranges = new Map<string, { fromTsMs: number; toTsMs: number }[]>();
  /** Records the markers seen say were evicted (a folded marker's records counted once, in the newer). */
  evictedRecords = 0;
  markers = 0;

  /** Takes a delivered record: gap markers add to the coverage, other records are ignored. */
  add(record: { readonly stream: string; readonly body: unknown }): void {
    if (record.stream !== GAP_MARKER_STREAM) return;
    const body = record.body as { evictedRecords?: unknown; streams?: unknown } | null;
    if (typeof body !== 'object' || body === null) return;
    this.markers += 1;
    if (typeof body.evictedRecords === 'number') this.evictedRecords += body.evictedRecords;
    const streams = body.streams;
    if (typeof streams !== 'object' || streams === null) return;
    for (const [key, g] of Object.entries(streams as Record<string, Partial<StreamGap>>)) {
      if (typeof g?.fromTsMs !== 'number' || typeof g.toTsMs !== 'number') continue;
      const list = this.ranges.get(key) ?? [];
      list.push({ fromTsMs: g.fromTsMs, toTsMs: g.toTsMs });
      this.ranges.set(key, list);
    }
  }

  covers(subject: GapSubject): boolean {
    const list = this.ranges.get(`${subject.lane}:${subject.stream}`);
    return list !== undefined && list.some((g) => subject.tsMs >= g.fromTsMs && subject.tsMs <= g.toTsMs);
  }

  static of(records: Iterable<{ readonly stream: string; readonly body: unknown }>): GapCoverage {
    const coverage = new GapCoverage();
    for (const r of records) coverage.add(r);
    return coverage;
  }
}
