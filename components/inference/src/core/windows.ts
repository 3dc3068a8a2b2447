import { windowFeatures } from './features';

/**
 * Per-asset sliding windows over readings, ruled by the readings' own timestamps (never by when a batch
 * arrived): a reading more than `maxGapMs` after the previous one starts the window afresh, a reading at
 * or before the previous one (a duplicate or a late delivery) is skipped, and slow channels are fed as
 * their deviation from their own trailing mean.
 */
export interface WindowPolicy {
  /** Readings per window. */
  readonly size: number;
  /** A window every `step` readings. */
  readonly step: number;
  /** A larger gap between two readings restarts the window and the trailing means. */
  readonly maxGapMs: number;
  /** Indices of the measurements fed as their deviation from their trailing mean. */
  readonly detrended: readonly number[];
  /** Time constant of the trailing mean (an exponential average over the readings' timestamps). */
  readonly trendTimeConstantMs: number;
}

export interface WindowState {
  /** The last `size` rows (after detrending), oldest first, and their timestamps. */
  readonly rows: readonly (readonly number[])[];
  readonly times: readonly number[];
  readonly sinceStep: number;
  /** Trailing means of the detrended measurements, in the order of `policy.detrended`. */
  readonly trend: readonly number[] | null;
  /** Readings the trailing means have taken in since the window (re)started. */
  readonly trendReadings: number;
  readonly lastMs: number | null;
}

export interface Window {
  readonly features: number[];
  readonly fromMs: number;
  readonly toMs: number;
}

export type PushOutcome = 'window' | 'filling' | 'restarted' | 'skipped';

export const emptyWindow: WindowState = {
  rows: [],
  times: [],
  sinceStep: 0,
  trend: null,
  trendReadings: 0,
  lastMs: null,
};

/** Past this many readings the warm-up weight 1/n is far below any time weight that matters. */
const MAX_TREND_READINGS = 1_000_000;

/**
 * Deviations from the trailing means, then the means moved towards the new values. The weight of a new
 * value is 1 - exp(-dt / tau), so readings at any rate, and with gaps, weigh by time, not by count.
 * Until the readings span about tau, the weight is 1/n instead (when larger): the means are then the
 * plain mean of the n readings since the start. Seeded with the first reading alone, a mean would keep
 * that one reading's noise for minutes (at tau = 120 s, a thermocouple's first reading 3 sigma off put
 * every window's mean 3 sigma / e^(t/tau) off, and a pump alarmed on it from its first windows on).
 */
function detrend(
  trend: readonly number[] | null,
  readings: number,
  values: readonly number[],
  dtMs: number,
  policy: WindowPolicy,
): { values: number[]; trend: readonly number[] } {
  const out = [...values];
  if (trend === null) {
    for (const j of policy.detrended) out[j] = 0;
    return { values: out, trend: policy.detrended.map((j) => values[j]!) };
  }
  const w = Math.max(1 - Math.exp(-dtMs / policy.trendTimeConstantMs), 1 / (readings + 1));
  const next = policy.detrended.map((j, i) => {
    const mean = trend[i]!;
    out[j] = values[j]! - mean;
    return mean + w * (values[j]! - mean);
  });
  return { values: out, trend: next };
}

/** One reading into the asset's window; a window is returned when one is due. */
export function pushReading(
  state: WindowState,
  policy: WindowPolicy,
  tsMs: number,
  values: readonly number[],
): { state: WindowState; outcome: PushOutcome; window: Window | null } {
  if (state.lastMs !== null && tsMs <= state.lastMs) return { state, outcome: 'skipped', window: null };
  const restart = state.lastMs !== null && tsMs - state.lastMs > policy.maxGapMs;
  const base = restart ? emptyWindow : state;
  const d = detrend(
    base.trend,
    base.trendReadings,
    values,
    base.lastMs === null ? 0 : tsMs - base.lastMs,
    policy,
  );
  const keep = Math.max(0, base.rows.length + 1 - policy.size);
  const rows = [...base.rows.slice(keep), d.values];
  const times = [...base.times.slice(keep), tsMs];
  let sinceStep = base.sinceStep + 1;
  let window: Window | null = null;
  if (rows.length === policy.size && sinceStep >= policy.step) {
    sinceStep = 0;
    window = { features: windowFeatures(rows), fromMs: times[0]!, toMs: tsMs };
  }
  return {
    state: {
      rows,
      times,
      sinceStep,
      trend: d.trend,
      trendReadings: Math.min(base.trendReadings + 1, MAX_TREND_READINGS),
      lastMs: tsMs,
    },
    outcome: window !== null ? 'window' : restart ? 'restarted' : 'filling',
    window,
  };
}

/** Every window of a series of readings, as the component builds them (evaluation, default model). */
export function windowsOf(
  readings: readonly { readonly tsMs: number; readonly values: readonly number[] }[],
  policy: WindowPolicy,
): { window: Window; index: number }[] {
  let state = emptyWindow;
  const out: { window: Window; index: number }[] = [];
  readings.forEach((r, index) => {
    const pushed = pushReading(state, policy, r.tsMs, r.values);
    state = pushed.state;
    if (pushed.window !== null) out.push({ window: pushed.window, index });
  });
  return out;
}
