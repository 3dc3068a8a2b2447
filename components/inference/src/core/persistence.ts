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
  /** The last verdicts as bits, newest in bit 0 (1: above the threshold), and how many there are (<= n). */
  readonly recent: number;
  readonly count: number;
  readonly alarmed: boolean;
}

export type AlarmTransition = 'onset' | 'recovery' | null;

export const quietPersistence: PersistenceState = { recent: 0, count: 0, alarmed: false };

/** n is at most 30: the verdicts fit in one small integer. */
export const MAX_PERSISTENCE_N = 30;

function bits(v: number): number {
  let c = 0;
  for (let x = v; x !== 0; x &= x - 1) c += 1;
  return c;
}

export function checkPersistence(policy: PersistencePolicy): void {
  if (!(policy.k > policy.n / 2 && policy.k <= policy.n && policy.n <= MAX_PERSISTENCE_N))
    throw new RangeError(
      `persistence needs n/2 < k <= n <= ${MAX_PERSISTENCE_N}, got k=${policy.k} n=${policy.n}`,
    );
}

export function pushVerdict(
  state: PersistenceState,
  policy: PersistencePolicy,
  above: boolean,
): { state: PersistenceState; transition: AlarmTransition } {
  const recent = ((state.recent << 1) | (above ? 1 : 0)) & ((1 << policy.n) - 1);
  const count = Math.min(policy.n, state.count + 1);
  const high = bits(recent);
  if (!state.alarmed && high >= policy.k)
    return { state: { recent, count, alarmed: true }, transition: 'onset' };
  if (state.alarmed && count - high >= policy.k)
    return { state: { recent, count, alarmed: false }, transition: 'recovery' };
  return { state: { recent, count, alarmed: state.alarmed }, transition: null };
}

/** Ends an alarm at once (the asset's state was accepted as its new normal); the next n windows decide afresh. */
export function clearAlarm(): PersistenceState {
  return quietPersistence;
}
