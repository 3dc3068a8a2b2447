/**
 * SKAB's scores, implemented from their definitions (SKAB README, "How SKAB scores").
 *
 * Outlier score: point-wise confusion counts pooled over files; F1 = TP / (TP + (FP + FN) / 2),
 * FAR = FP / (FP + TN) in %, MAR = FN / (FN + TP) in %.
 *
 * Changepoint score (NAB style): predicted changepoints are the alarm's 0→1 and 1→0 transitions. Each true
 * changepoint opens a window from itself to `windowMs` after it. Only the first prediction inside a window
 * counts, weighted on a tanh curve from the true-positive weight at the window's start down to the
 * false-positive weight at its end: w(p) = tp + (fp − tp) · tanh(5p) / tanh(5), p ∈ [0, 1] the position in
 * the window. A window without a prediction costs the false-negative weight; a prediction in no window
 * costs the false-positive weight. A prediction inside overlapping windows belongs to the earliest one.
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

/** Times (ms) where a boolean series changes value. */
export function transitions(timesMs: readonly number[], series: readonly boolean[]): number[] {
  const out: number[] = [];
  for (let i = 1; i < series.length; i++) if (series[i] !== series[i - 1]) out.push(timesMs[i]!);
  return out;
}

export interface NabParts {
  readonly score: number;
  readonly nullScore: number;
  readonly perfectScore: number;
}

/** One file's raw NAB sums for a profile. */
export function nabParts(
  trueChangepointsMs: readonly number[],
  predictedMs: readonly number[],
  windowMs: number,
  profile: Profile,
): NabParts {
  const windows = [...trueChangepointsMs]
    .sort((a, b) => a - b)
    .map((start) => ({ start, end: start + windowMs }));
  const firstIn = new Array<number | undefined>(windows.length).fill(undefined);
  let score = 0;
  for (const t of [...predictedMs].sort((a, b) => a - b)) {
    const w = windows.findIndex((win) => t >= win.start && t <= win.end);
    if (w < 0) score += profile.fp;
    else if (firstIn[w] === undefined) firstIn[w] = t;
  }
  windows.forEach((win, i) => {
    const t = firstIn[i];
    if (t === undefined) {
      score += profile.fn;
      return;
    }
    const p = windowMs === 0 ? 0 : (t - win.start) / windowMs;
    score += profile.tp + ((profile.fp - profile.tp) * Math.tanh(5 * p)) / Math.tanh(5);
  });
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
