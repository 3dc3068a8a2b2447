/**
 * Persistence filter: turns per-window scores into alarm episodes. An alarm starts when at least `k` of
 * the last `n` windows score above the threshold, and ends when at least `k` of the last `n` score at or
 * below it (k > n / 2 keeps the two conditions exclusive). One event at onset, one at recovery.
 */
export interface PersistencePolicy {
  readonly k: number;
  readonly n: number;
  readonly threshold: number;
}

export type AlarmTransition = 'onset' | 'recovery' | null;

export class PersistenceFilter {
  private readonly recent: boolean[] = [];
  private alarmed = false;
  /** The highest score since the onset (for the recovery event). */
  peak = 0;

  constructor(private readonly policy: PersistencePolicy) {
    if (!(policy.k > policy.n / 2 && policy.k <= policy.n))
      throw new RangeError(`persistence needs n/2 < k <= n, got k=${policy.k} n=${policy.n}`);
  }

  get active(): boolean {
    return this.alarmed;
  }

  push(score: number): AlarmTransition {
    this.recent.push(score > this.policy.threshold);
    if (this.recent.length > this.policy.n) this.recent.shift();
    const above = this.recent.filter(Boolean).length;
    const below = this.recent.length - above;
    if (this.alarmed) this.peak = Math.max(this.peak, score);
    if (!this.alarmed && above >= this.policy.k) {
      this.alarmed = true;
      this.peak = score;
      return 'onset';
    }
    if (this.alarmed && below >= this.policy.k) {
      this.alarmed = false;
      return 'recovery';
    }
    return null;
  }
}
