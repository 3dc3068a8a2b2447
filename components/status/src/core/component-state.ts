/**
 * What the page can say about a component from what it hears on the local topics. The page cannot ask
 * the nucleus (neither nucleus offers a component another component's lifecycle state over IPC without
 * the Greengrass CLI), so it judges by the documents each component publishes at a known interval:
 * - `reporting`: a document arrived within `staleAfterIntervals` of its interval;
 * - `silent`: none for longer (stopped, crashed, restarting, hung, or its IPC connection is gone);
 * - `waiting`: nothing yet, and the page has not been up long enough to call it silent;
 * - `not-deployed`: nothing heard and the nucleus has no configuration for it.
 * A component that publishes but does nothing else useful still looks `reporting`: the panels say what
 * it reports (backlog, rates), which is how that shows.
 */
export type ComponentHealth = 'reporting' | 'silent' | 'waiting' | 'not-deployed';

export interface ComponentObservation {
  /** When the page last received a document from it (its own clock), or null. */
  readonly lastHeardMs: number | null;
  /** The interval it publishes at: from its configuration, else learnt from the gaps, else a default. */
  readonly intervalMs: number;
  /** Whether the nucleus has a configuration for it (null: not known, e.g. the lookup failed). */
  readonly deployed: boolean | null;
}

export interface ComponentJudgement {
  readonly state: ComponentHealth;
  /** Since the last document (or since the page started, when nothing was heard). */
  readonly silentForMs: number;
  readonly detail: string;
}

export function judgeComponent(
  o: ComponentObservation,
  nowMs: number,
  startedAtMs: number,
  staleAfterIntervals: number,
): ComponentJudgement {
  const limitMs = o.intervalMs * staleAfterIntervals;
  const seconds = (ms: number): string => `${Math.round(ms / 100) / 10} s`;
  if (o.lastHeardMs === null) {
    const waited = Math.max(0, nowMs - startedAtMs);
    if (o.deployed === false)
      return { state: 'not-deployed', silentForMs: waited, detail: 'not deployed on this gateway' };
    if (waited <= limitMs)
      return {
        state: 'waiting',
        silentForMs: waited,
        detail: `no report yet (expected every ${seconds(o.intervalMs)})`,
      };
    return {
      state: 'silent',
      silentForMs: waited,
      detail: `nothing heard in ${seconds(waited)} (expected every ${seconds(o.intervalMs)})`,
    };
  }
  const age = Math.max(0, nowMs - o.lastHeardMs);
  if (age <= limitMs)
    return { state: 'reporting', silentForMs: age, detail: `last report ${seconds(age)} ago` };
  return {
    state: 'silent',
    silentForMs: age,
    detail: `silent for ${seconds(age)} (expected every ${seconds(o.intervalMs)})`,
  };
}

/**
 * The publishing interval learnt from the gaps between documents: the median of the recent gaps, which
 * one late or doubled document does not move.
 */
export class IntervalEstimate {
  private readonly gaps: number[] = [];
  private last: number | null = null;

  constructor(private readonly keep = 9) {}

  observe(atMs: number): void {
    if (this.last !== null && atMs > this.last) {
      this.gaps.push(atMs - this.last);
      if (this.gaps.length > this.keep) this.gaps.shift();
    }
    this.last = atMs;
  }

  /** The median gap, once three gaps were seen; else undefined. */
  medianMs(): number | undefined {
    if (this.gaps.length < 3) return undefined;
    const sorted = [...this.gaps].sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)];
  }
}
