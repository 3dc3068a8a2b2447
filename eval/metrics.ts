/**
 * SKAB's scores, as SKAB's own scorer computes them (SKAB README, "How SKAB scores").
 *
 * Outlier score: point-wise confusion counts pooled over files; F1 = TP / (TP + (FP + FN) / 2),
 * FAR = FP / (FP + TN) in %, MAR = FN / (FN + TP) in %.
 *
 * Changepoint score (NAB style): predicted changepoints are the alarm's transitions, the first point
 * included when the alarm is on there. Each true changepoint opens a window from itself to `windowMs`
 * after it; a window that reaches into the next one makes that one start where it ends. Only the first
 * prediction inside a window counts, weighted by SKAB's S-curve centred in the window,
 * A_fp + (A_tp − A_fp) · (1 − tanh(π(p − ½)) / tanh(π/2)) / 2 read on a 1000-point grid over the window
 * position p ∈ [0, 1]: A_tp at the start, (A_tp + A_fp) / 2 in the middle, A_fp at the end. A window
 * without a prediction costs A_fn; a prediction in no window costs A_fp.
 * Score = 100 (S − S_null) / (S_perfect − S_null), where S_null misses every window and S_perfect detects
 * each at its start; S, S_null and S_perfect are summed over files before the ratio.
 */

export interface Confusion {
  tp: number;
  fp: number;
  fn: number;
  tn: number;
}

export function confusion(truth: readonly boolean[], predicted: readonly boolean[]): Confusion {
  if (truth.length !== predicted.length) throw new RangeError('truth and prediction differ in length');
  const c: Confusion = { tp: 0, fp: 0, fn: 0, tn: 0 };
  truth.forEach((t, i) => {
    const p = predicted[i] === true;
    if (t && p) c.tp++;
    else if (!t && p) c.fp++;
    else if (t && !p) c.fn++;
    else c.tn++;
  });
  return c;
}

export function addConfusion(a: Confusion, b: Confusion): Confusion {
  return { tp: a.tp + b.tp, fp: a.fp + b.fp, fn: a.fn + b.fn, tn: a.tn + b.tn };
}

export interface OutlierScore {
  readonly f1: number;
  /** False alarm rate, %. */
  readonly far: number;
  /** Missed alarm rate, %. */
  readonly mar: number;
}

export function outlierScore(c: Confusion): OutlierScore {
  const ratio = (num: number, den: number): number => (den === 0 ? 0 : num / den);
  return {
    f1: ratio(c.tp, c.tp + (c.fp + c.fn) / 2),
    far: 100 * ratio(c.fp, c.fp + c.tn),
    mar: 100 * ratio(c.fn, c.fn + c.tp),
  };
}

export interface Profile {
  readonly tp: number;
  readonly fp: number;
  readonly fn: number;
}

export const PROFILES = {
  standard: { tp: 1, fp: -0.11, fn: -1 },
  lowFp: { tp: 1, fp: -0.22, fn: -1 },
  lowFn: { tp: 1, fp: -0.11, fn: -2 },
} as const satisfies Record<string, Profile>;

/**
 * Predicted changepoints as SKAB derives them from an alarm series: `|diff(alarm)|`, with the first point
 * counting as a changepoint when the alarm is already on there. Returns their times (ms).
 */
export function transitions(timesMs: readonly number[], series: readonly boolean[]): number[] {
  const out: number[] = [];
  if (series[0] === true) out.push(timesMs[0]!);
  for (let i = 1; i < series.length; i++) if (series[i] !== series[i - 1]) out.push(timesMs[i]!);
  return out;
}

export interface NabParts {
  readonly score: number;
  readonly nullScore: number;
  readonly perfectScore: number;
}

export interface NabWindow {
  readonly startMs: number;
  readonly endMs: number;
}

/**
 * SKAB's scoring windows ("righter"): from each true changepoint to `windowMs` after it, in order; a window
 * that reaches the next one's start ("cut right window") makes the next one start where it ends.
 */
export function nabWindows(trueChangepointsMs: readonly number[], windowMs: number): NabWindow[] {
  const sorted = [...trueChangepointsMs].sort((a, b) => a - b);
  const windows = sorted.map((t) => ({ startMs: t, endMs: t + windowMs }));
  for (let i = 0; i + 1 < windows.length; i++)
    if (windows[i]!.endMs >= windows[i + 1]!.startMs)
      windows[i + 1] = { startMs: windows[i]!.endMs, endMs: windows[i + 1]!.endMs };
  return windows;
}

/** SKAB's grid over a window: 1000 points from -π/2 to π/2. */
const NAB_GRID = 1_000;

/**
 * The weight of the first detection in a window, at position p = (t - start) / (end - start): SKAB's
 * S-curve `A_fp + (A_tp - A_fp) · (1 - tanh(x) / tanh(π/2)) / 2`, read on its 1000-point grid at index
 * floor(p · 1000) (the last point for p = 1), where grid point i is x = -π/2 + π i / 999.
 */
export function nabWeight(p: number, profile: Profile): number {
  const index = Math.min(NAB_GRID - 1, Math.max(0, Math.trunc(p * NAB_GRID)));
  const x = -Math.PI / 2 + (Math.PI * index) / (NAB_GRID - 1);
  const half = (profile.tp - profile.fp) / 2;
  return half * (1 - Math.tanh(x) / Math.tanh(Math.PI / 2)) + profile.fp;
}

/**
 * One file's raw NAB sums for a profile, by SKAB's rules: in each window (both ends included) only the
 * first prediction counts, weighted by `nabWeight`; a window without one costs `fn`; a prediction before
 * the first window, between two windows or after the last costs `fp` each. A prediction exactly on a
 * boundary that two windows share counts in both, as in SKAB's scorer.
 */
export function nabParts(
  trueChangepointsMs: readonly number[],
  predictedMs: readonly number[],
  windowMs: number,
  profile: Profile,
): NabParts {
  const windows = nabWindows(trueChangepointsMs, windowMs);
  const predicted = [...predictedMs].sort((a, b) => a - b);
  let score = 0;
  windows.forEach((w) => {
    const first = predicted.find((t) => t >= w.startMs && t <= w.endMs);
    if (first === undefined) score += profile.fn;
    else {
      const span = w.endMs - w.startMs;
      score += nabWeight(span > 0 ? (first - w.startMs) / span : 0, profile);
    }
  });
  // Windows are ordered and, after the cut, never overlap: what lies in none is before the first, between
  // two or after the last.
  const outside = predicted.filter((t) => !windows.some((w) => t >= w.startMs && t <= w.endMs));
  score += profile.fp * outside.length;
  return {
    score,
    nullScore: windows.length * profile.fn,
    perfectScore: windows.length * profile.tp,
  };
}

export function nabScore(parts: readonly NabParts[]): number {
  const sum = (f: (p: NabParts) => number): number => parts.reduce((a, p) => a + f(p), 0);
  const s = sum((p) => p.score);
  const sNull = sum((p) => p.nullScore);
  const sPerfect = sum((p) => p.perfectScore);
  return sPerfect === sNull ? 0 : (100 * (s - sNull)) / (sPerfect - sNull);
}
