/**
 * Calibration on the device: windows of normal operation are collected (for all assets together, or per
 * asset), screened for an obvious fault, and handed to the fit. A calibration that saw a fault would learn
 * the fault as normal and never alarm on it again, so a window set with a sustained shift inside it is
 * refused, with the asset, the feature and the times named, and collection starts again.
 */
export interface CalibrationWindow {
  readonly asset: string;
  readonly features: readonly number[];
  readonly toMs: number;
}

export interface Collection {
  readonly key: string | null;
  readonly reason: string;
  readonly startedAtMs: number;
  readonly attempt: number;
  readonly windows: readonly CalibrationWindow[];
}

export interface ScreenPolicy {
  /** Slices each asset's windows are cut into, in time order. */
  readonly blocks: number;
  /** Refuse when a feature's block medians differ by more than this many within-block spreads. */
  readonly maxShift: number;
  /** The fit's floor of a feature's spread, as a share of its level. */
  readonly minRelativeStd: number;
  /**
   * The features screened: window means of the measurements fed as they are (a level shift is what an
   * obvious fault looks like; a detrended channel's deviation wanders by construction).
   */
  readonly features: readonly number[];
}

export interface Refusal {
  readonly asset: string;
  readonly feature: number;
  /** How far the feature moved, in within-block spreads. */
  readonly shift: number;
  readonly fromMs: number;
  readonly toMs: number;
}

/** Windows per block below which an asset's share is too small to judge. */
const MIN_BLOCK_WINDOWS = 8;

export function startCollection(key: string | null, reason: string, nowMs: number, attempt = 1): Collection {
  return { key, reason, startedAtMs: nowMs, attempt, windows: [] };
}

export function collect(c: Collection, w: CalibrationWindow, target: number): Collection {
  return c.windows.length >= target ? c : { ...c, windows: [...c.windows, w] };
}

function median(sorted: readonly number[]): number {
  const n = sorted.length;
  return n === 0 ? 0 : n % 2 === 1 ? sorted[(n - 1) / 2]! : (sorted[n / 2 - 1]! + sorted[n / 2]!) / 2;
}

const sortedCopy = (v: readonly number[]): number[] => [...v].sort((a, b) => a - b);

/** Median and robust spread (1.4826 MAD, the standard deviation for normal data). */
function robust(values: readonly number[]): { centre: number; spread: number } {
  const centre = median(sortedCopy(values));
  return { centre, spread: 1.4826 * median(sortedCopy(values.map((v) => Math.abs(v - centre)))) };
}

/** The largest shift of one asset's windows among the screened features, in within-block spreads. */
export function largestShift(
  windows: readonly CalibrationWindow[],
  policy: Omit<ScreenPolicy, 'maxShift'>,
): Refusal | null {
  const n = windows.length;
  const per = Math.floor(n / policy.blocks);
  if (per < MIN_BLOCK_WINDOWS) return null;
  let worst: Refusal | null = null;
  for (const j of policy.features) {
    const blocks = Array.from({ length: policy.blocks }, (_, b) =>
      robust(windows.slice(b * per, (b + 1) * per).map((w) => w.features[j]!)),
    );
    const level = Math.abs(median(sortedCopy(windows.map((w) => w.features[j]!))));
    const spread = Math.max(
      median(sortedCopy(blocks.map((b) => b.spread))),
      policy.minRelativeStd * level,
      1e-12,
    );
    const centres = blocks.map((b) => b.centre);
    const lo = centres.indexOf(Math.min(...centres));
    const hi = centres.indexOf(Math.max(...centres));
    const shift = (centres[hi]! - centres[lo]!) / spread;
    if (worst === null || shift > worst.shift) {
      const first = Math.min(lo, hi);
      const last = Math.max(lo, hi);
      worst = {
        asset: windows[0]!.asset,
        feature: j,
        shift,
        fromMs: windows[first * per]!.toMs,
        toMs: windows[Math.min(n - 1, (last + 1) * per - 1)]!.toMs,
      };
    }
  }
  return worst;
}

/** The screen: the first asset whose windows hold a shift beyond the policy, or null when all look normal. */
export function screenCalibration(
  windows: readonly CalibrationWindow[],
  policy: ScreenPolicy,
): Refusal | null {
  const byAsset = new Map<string, CalibrationWindow[]>();
  for (const w of windows) {
    const list = byAsset.get(w.asset);
    if (list === undefined) byAsset.set(w.asset, [w]);
    else list.push(w);
  }
  for (const list of byAsset.values()) {
    const shift = largestShift(list, policy);
    if (shift !== null && shift.shift > policy.maxShift) return shift;
  }
  return null;
}
