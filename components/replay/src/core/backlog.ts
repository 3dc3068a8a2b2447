/**
 * Whether a backlog exists, for the drain links. It is seen in a read (records beyond the live window,
 * or a read cut short by its budget) or in the store's metrics, and it is gone only once a read comes
 * back without one (or empty) and stays so for `idleMs`: a pause in reads (every link's window full,
 * a busy machine) is not the end of a backlog.
 */
export interface Backlog {
  readonly present: boolean;
  /** Since when reads (or the metrics) have found no backlog. */
  readonly clearSinceMs: number | null;
}

export const NO_BACKLOG: Backlog = { present: false, clearSinceMs: null };

export function observeBacklog(b: Backlog, seen: boolean, nowMs: number): Backlog {
  if (seen) return { present: true, clearSinceMs: null };
  if (!b.present || b.clearSinceMs !== null) return b;
  return { present: true, clearSinceMs: nowMs };
}

export function backlogPresent(b: Backlog, nowMs: number, idleMs: number): boolean {
  return b.present && (b.clearSinceMs === null || nowMs - b.clearSinceMs < idleMs);
}
