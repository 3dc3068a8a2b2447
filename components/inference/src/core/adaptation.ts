/**
 * A new normal: an alarm whose state has stayed stable for `afterMs` (in the readings' own time) is
 * accepted as the asset's new operating point. The model is not refitted: its centre moves to the stable
 * state (an offset subtracted from the asset's features), so its learnt spread and limits still judge
 * what comes next, and a later move away from the new point alarms again.
 *
 * Stable means: the last `afterMs` of the alarm, cut into `blocks` consecutive time slots, has every
 * slot's mean feature vector within `tolerance` calibration standard deviations of the period's mean,
 * feature by feature. While the state still moves (a fault developing, a recovery under way) the period
 * slides on; a gap in the readings longer than a slot starts it again.
 */
export interface AdaptationPolicy {
  /** 0 turns adaptation off. */
  readonly afterMs: number;
  readonly blocks: number;
  readonly tolerance: number;
}

/** The model's centre and spread, per feature (from its sidecar). */
export interface Standardization {
  readonly mean: readonly number[];
  readonly std: readonly number[];
}

interface Slot {
  readonly index: number;
  readonly sum: readonly number[];
  readonly count: number;
}

export interface AdaptationState {
  /** Start of the current period (the first window of the alarm, or after the last move). */
  readonly sinceMs: number | null;
  /** Complete slots of the period, oldest first, and the one filling. */
  readonly slots: readonly Slot[];
  readonly filling: Slot | null;
  /** Subtracted from the asset's features before scoring; null: the model's own centre. */
  readonly offset: readonly number[] | null;
}

export interface Adapted {
  readonly offset: number[];
  readonly sinceMs: number;
  /** Features that moved most, in calibration standard deviations (signed). */
  readonly moved: { readonly feature: number; readonly sigmas: number }[];
}

export const noAdaptation: AdaptationState = { sinceMs: null, slots: [], filling: null, offset: null };

const add = (a: readonly number[], b: readonly number[]): number[] => a.map((v, i) => v + b[i]!);

/** Scored features: the raw window features minus the asset's offset (the same array without one). */
export function adjusted(state: AdaptationState, features: readonly number[]): readonly number[] {
  const o = state.offset;
  return o === null ? features : features.map((v, i) => v - o[i]!);
}

/** The alarm ended or the model changed: the period starts again (the offset stays unless `reset`). */
export function restartPeriod(state: AdaptationState, reset = false): AdaptationState {
  return { sinceMs: null, slots: [], filling: null, offset: reset ? null : state.offset };
}

/** One window of an asset in alarm (raw features, before the offset). */
export function observeAlarmed(
  state: AdaptationState,
  policy: AdaptationPolicy,
  scale: Standardization | undefined,
  features: readonly number[],
  tsMs: number,
): { state: AdaptationState; adapted: Adapted | null } {
  if (policy.afterMs <= 0 || scale === undefined) return { state, adapted: null };
  const sinceMs = state.sinceMs ?? tsMs;
  const slotMs = policy.afterMs / policy.blocks;
  const index = Math.floor((tsMs - sinceMs) / slotMs);
  let slots = state.slots;
  let filling = state.filling;
  let completed = false;
  if (filling !== null && index !== filling.index) {
    // Slots must follow each other: a gap in the readings longer than a slot breaks the period.
    slots = index === filling.index + 1 ? [...slots, filling].slice(-policy.blocks) : [];
    filling = null;
    completed = slots.length > 0;
  }
  filling =
    filling === null
      ? { index, sum: [...features], count: 1 }
      : { index, sum: add(filling.sum, features), count: filling.count + 1 };
  const next: AdaptationState = { sinceMs, slots, filling, offset: state.offset };
  if (!completed || slots.length < policy.blocks) return { state: next, adapted: null };

  // The last `blocks` slots, consecutive by construction: stable if no slot's mean strays from theirs.
  const means = slots.map((s) => s.sum.map((v) => v / s.count));
  const overall = means.reduce((a, m) => add(a, m)).map((v) => v / means.length);
  const sd = (j: number): number => Math.max(scale.std[j]!, 1e-12);
  const stable = means.every((m) => m.every((v, j) => Math.abs(v - overall[j]!) <= policy.tolerance * sd(j)));
  if (!stable) return { state: next, adapted: null };
  const offset = overall.map((v, j) => v - scale.mean[j]!);
  const moved = offset
    .map((o, feature) => ({ feature, sigmas: o / sd(feature) }))
    .sort((a, b) => Math.abs(b.sigmas) - Math.abs(a.sigmas))
    .slice(0, 3);
  return {
    state: { sinceMs: null, slots: [], filling: null, offset },
    adapted: { offset, sinceMs: sinceMs + slots[0]!.index * slotMs, moved },
  };
}
