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
  /** Windows offered so far, and one of every `stride` is kept (thinning keeps memory bounded). */
  readonly offered: number;
  readonly stride: number;
}

/**
 * How much a calibration learns from: at least `windows` windows spread over at least `spanMs` of the
 * readings' own time, so it sees the slow variation of normal operation whatever the reading rate.
 */
export interface CollectionPolicy {
  readonly windows: number;
  readonly spanMs: number;
}

export interface ScreenPolicy {
  /** Each asset's windows are split at the boundaries of this many slices, in time order. */
  readonly blocks: number;
  /** Refuse when a feature steps by more than this many spreads across a split. */
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
  /** How far the feature stepped, in the spread around it; and between which windows. */
  readonly shift: number;
  readonly fromMs: number;
  readonly toMs: number;
}

/** Windows per block below which an asset's share is too small to judge. */
const MIN_BLOCK_WINDOWS = 8;

export function startCollection(key: string | null, reason: string, nowMs: number, attempt = 1): Collection {
  return { key, reason, startedAtMs: nowMs, attempt, windows: [], offered: 0, stride: 1 };
}

const spanOf = (windows: readonly CalibrationWindow[]): number =>
  windows.length < 2 ? 0 : windows.at(-1)!.toMs - windows[0]!.toMs;

/** Whether a collection has what the fit needs. */
export function collected(c: Collection, policy: CollectionPolicy): boolean {
  return c.windows.length >= policy.windows && spanOf(c.windows) >= policy.spanMs;
}

/**
 * One more window. Until the span is covered, at most twice `windows` are held: past that, every other
 * window is dropped and from then on only every other one kept, so the windows stay evenly spread.
 */
export function collect(c: Collection, w: CalibrationWindow, policy: CollectionPolicy): Collection {
  if (collected(c, policy)) return c;
  const offered = c.offered + 1;
  if ((offered - 1) % c.stride !== 0) return { ...c, offered };
  const windows = [...c.windows, w];
  if (windows.length < 2 * policy.windows || spanOf(windows) >= policy.spanMs)
    return { ...c, windows, offered };
  return { ...c, windows: windows.filter((_, i) => i % 2 === 0), offered, stride: c.stride * 2 };
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

/**
 * The largest step in one asset's windows among the screened features: for each split at a block
 * boundary, the difference of the medians before and after it, in the spread the two sides have around
 * their own medians. A slow wander of normal operation widens both sides and stays small; a fault that
 * set in (or ended) during calibration is a step far beyond either side's spread.
 */
export function largestShift(
  windows: readonly CalibrationWindow[],
  policy: Omit<ScreenPolicy, 'maxShift'>,
): Refusal | null {
  const n = windows.length;
  const per = Math.floor(n / policy.blocks);
  if (per < MIN_BLOCK_WINDOWS) return null;
  let worst: Refusal | null = null;
  for (const j of policy.features) {
    const values = windows.map((w) => w.features[j]!);
    const level = Math.abs(median(sortedCopy(values)));
    for (let b = 1; b < policy.blocks; b++) {
      const before = robust(values.slice(0, b * per));
      const after = robust(values.slice(b * per));
      const spread = Math.max(
        Math.sqrt((before.spread ** 2 + after.spread ** 2) / 2),
        policy.minRelativeStd * level,
        1e-12,
      );
      const shift = Math.abs(after.centre - before.centre) / spread;
      if (worst === null || shift > worst.shift)
        worst = {
          asset: windows[0]!.asset,
          feature: j,
          shift,
          fromMs: windows[b * per - 1]!.toMs,
          toMs: windows[b * per]!.toMs,
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
