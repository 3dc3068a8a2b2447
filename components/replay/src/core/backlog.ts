/**
 * Whether a backlog exists, for the drain links. It is seen in a read (records beyond the live window,
 * or a read cut short by its budget) or in the store's metrics, and it is gone only once a read comes
 * back without one (or empty), or metrics taken after the last sighting say so, and it stays gone for
 * `idleMs`: a pause in reads (every link's window full, a busy machine) is not the end of a backlog,
 * and neither are metrics from before the records arrived.
 */
export interface Backlog {
  readonly present: boolean;
  /** When a backlog was last seen. */
  readonly seenAtMs: number | null;
  /** Since when reads (or the metrics) have found no backlog. */
  readonly clearSinceMs: number | null;
}

export const NO_BACKLOG: Backlog = { present: false, seenAtMs: null, clearSinceMs: null };

/** What a read or the metrics found, as of `atMs` (when the read was made or the metrics taken). */
export function observeBacklog(b: Backlog, seen: boolean, atMs: number): Backlog {
  if (seen) return { present: true, seenAtMs: Math.max(atMs, b.seenAtMs ?? atMs), clearSinceMs: null };
  if (!b.present || b.clearSinceMs !== null || (b.seenAtMs !== null && atMs <= b.seenAtMs)) return b;
  return { ...b, clearSinceMs: atMs };
}

export function backlogPresent(b: Backlog, nowMs: number, idleMs: number): boolean {
  return b.present && (b.clearSinceMs === null || nowMs - b.clearSinceMs < idleMs);
}
