/**
 * Persistence filter: turns per-window verdicts into alarm episodes. An alarm starts when at least `k` of
 * the last `n` windows were above the threshold, and ends when at least `k` of the last `n` were at or
 * below it (k > n / 2 keeps the two conditions exclusive). Counted in windows, i.e. in the asset's own
 * readings, never in batches or wall-clock time.
 */
export interface PersistencePolicy {
  readonly k: number;
  readonly n: number;
}

export interface PersistenceState {
  /** The last n verdicts, oldest first (true: above the threshold). */
  readonly recent: readonly boolean[];
  readonly alarmed: boolean;
}

export type AlarmTransition = 'onset' | 'recovery' | null;

export const quietPersistence: PersistenceState = { recent: [], alarmed: false };

export function checkPersistence(policy: PersistencePolicy): void {
  if (!(policy.k > policy.n / 2 && policy.k <= policy.n))
    throw new RangeError(`persistence needs n/2 < k <= n, got k=${policy.k} n=${policy.n}`);
}

export function pushVerdict(
  state: PersistenceState,
  policy: PersistencePolicy,
  above: boolean,
): { state: PersistenceState; transition: AlarmTransition } {
  const recent = [...state.recent.slice(Math.max(0, state.recent.length + 1 - policy.n)), above];
  const count = recent.reduce((a, v) => a + (v ? 1 : 0), 0);
  if (!state.alarmed && count >= policy.k) return { state: { recent, alarmed: true }, transition: 'onset' };
  if (state.alarmed && recent.length - count >= policy.k)
    return { state: { recent, alarmed: false }, transition: 'recovery' };
  return { state: { recent, alarmed: state.alarmed }, transition: null };
}

/** Ends an alarm at once (the asset's state was accepted as its new normal); the next n windows decide afresh. */
export function clearAlarm(): PersistenceState {
  return quietPersistence;
}
