import {
  adjusted,
  noAdaptation,
  observeAlarmed,
  restartPeriod,
  type Adapted,
  type AdaptationPolicy,
  type AdaptationState,
  type Standardization,
} from './adaptation';
import {
  clearAlarm,
  pushVerdict,
  quietPersistence,
  type PersistencePolicy,
  type PersistenceState,
} from './persistence';

/**
 * One asset's alarm episodes: window scores through the persistence filter into onset and recovery, and
 * an alarm whose state stays stable long enough accepted as the asset's new normal ("adapted", which ends
 * the episode). An alarm ends only once its windows have stayed below for `offDelayMs` (an off-delay:
 * a crossing within it continues the alarm, so a state hovering at the threshold as a fault ends raises
 * one alarm, not a chatter of them). Everything is in the readings' own time.
 */
export interface EpisodePolicy {
  readonly persistence: PersistencePolicy;
  readonly offDelayMs: number;
  readonly adaptation: AdaptationPolicy;
}

export interface EpisodeState {
  readonly persistence: PersistenceState;
  /** Set from the onset until the recovery is announced: the asset is in alarm. */
  readonly onset: { readonly atMs: number; readonly score: number } | null;
  /** The persistence filter cleared at this window, and the off-delay runs from it. */
  readonly belowSinceMs: number | null;
  /** The highest score since the onset. */
  readonly peak: number;
  readonly adaptation: AdaptationState;
}

export type EpisodeChange =
  | { readonly kind: 'onset' }
  | {
      readonly kind: 'recovery';
      readonly onsetAtMs: number | null;
      readonly peak: number;
      /** Since when the windows have been below (the off-delay's start). */
      readonly belowSinceMs: number;
    }
  | {
      readonly kind: 'adapted';
      readonly onsetAtMs: number | null;
      readonly peak: number;
      readonly adapted: Adapted;
    };

export const quietEpisode: EpisodeState = {
  persistence: quietPersistence,
  onset: null,
  belowSinceMs: null,
  peak: 0,
  adaptation: noAdaptation,
};

/** Whether the asset is in alarm (from its onset until its recovery or new normal is announced). */
export const inAlarm = (state: EpisodeState): boolean => state.onset !== null;

/** The features the model scores for this asset (its new normal's offset taken off). */
export function scoredFeatures(state: EpisodeState, raw: readonly number[]): readonly number[] {
  return adjusted(state.adaptation, raw);
}

/** The model changed under the asset: an offset measured against the old centre means nothing now. */
export function modelChanged(state: EpisodeState): EpisodeState {
  return { ...state, adaptation: restartPeriod(state.adaptation, true) };
}

export function judge(
  state: EpisodeState,
  policy: EpisodePolicy,
  scale: Standardization | undefined,
  window: { readonly raw: readonly number[]; readonly toMs: number },
  score: number,
  threshold: number,
): { state: EpisodeState; change: EpisodeChange | null } {
  const pushed = pushVerdict(state.persistence, policy.persistence, score > threshold);
  if (pushed.transition === 'onset' && state.onset !== null)
    // Above again within the off-delay: the same alarm goes on.
    return {
      state: {
        ...state,
        persistence: pushed.state,
        belowSinceMs: null,
        peak: Math.max(state.peak, score),
        adaptation: restartPeriod(state.adaptation),
      },
      change: null,
    };
  if (pushed.transition === 'onset')
    return {
      state: {
        persistence: pushed.state,
        onset: { atMs: window.toMs, score },
        belowSinceMs: null,
        peak: score,
        adaptation: restartPeriod(state.adaptation),
      },
      change: { kind: 'onset' },
    };
  const belowSinceMs = pushed.transition === 'recovery' ? window.toMs : state.belowSinceMs;
  if (belowSinceMs !== null && !pushed.state.alarmed) {
    if (window.toMs - belowSinceMs < policy.offDelayMs)
      return { state: { ...state, persistence: pushed.state, belowSinceMs }, change: null };
    return {
      state: {
        persistence: pushed.state,
        onset: null,
        belowSinceMs: null,
        peak: 0,
        adaptation: restartPeriod(state.adaptation),
      },
      change: { kind: 'recovery', onsetAtMs: state.onset?.atMs ?? null, peak: state.peak, belowSinceMs },
    };
  }
  if (!pushed.state.alarmed) return { state: { ...state, persistence: pushed.state }, change: null };

  const peak = Math.max(state.peak, score);
  const observed = observeAlarmed(state.adaptation, policy.adaptation, scale, window.raw, window.toMs);
  if (observed.adapted === null)
    return {
      state: { ...state, persistence: pushed.state, peak, adaptation: observed.state },
      change: null,
    };
  return {
    state: {
      persistence: clearAlarm(),
      onset: null,
      belowSinceMs: null,
      peak: 0,
      adaptation: observed.state,
    },
    change: { kind: 'adapted', onsetAtMs: state.onset?.atMs ?? null, peak, adapted: observed.adapted },
  };
}
