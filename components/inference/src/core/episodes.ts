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
 * the episode). Everything is in the readings' own time.
 */
export interface EpisodePolicy {
  readonly persistence: PersistencePolicy;
  readonly adaptation: AdaptationPolicy;
}

export interface EpisodeState {
  readonly persistence: PersistenceState;
  readonly onset: { readonly atMs: number; readonly score: number } | null;
  /** The highest score since the onset. */
  readonly peak: number;
  readonly adaptation: AdaptationState;
}

export type EpisodeChange =
  | { readonly kind: 'onset' }
  | { readonly kind: 'recovery'; readonly onsetAtMs: number | null; readonly peak: number }
  | {
      readonly kind: 'adapted';
      readonly onsetAtMs: number | null;
      readonly peak: number;
      readonly adapted: Adapted;
    };

export const quietEpisode: EpisodeState = {
  persistence: quietPersistence,
  onset: null,
  peak: 0,
  adaptation: noAdaptation,
};

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
  if (pushed.transition === 'onset')
    return {
      state: {
        persistence: pushed.state,
        onset: { atMs: window.toMs, score },
        peak: score,
        adaptation: restartPeriod(state.adaptation),
      },
      change: { kind: 'onset' },
    };
  if (pushed.transition === 'recovery')
    return {
      state: {
        persistence: pushed.state,
        onset: null,
        peak: 0,
        adaptation: restartPeriod(state.adaptation),
      },
      change: { kind: 'recovery', onsetAtMs: state.onset?.atMs ?? null, peak: state.peak },
    };
  if (!pushed.state.alarmed) return { state: { ...state, persistence: pushed.state }, change: null };

  const peak = Math.max(state.peak, score);
  const observed = observeAlarmed(state.adaptation, policy.adaptation, scale, window.raw, window.toMs);
  if (observed.adapted === null)
    return {
      state: { ...state, persistence: pushed.state, peak, adaptation: observed.state },
      change: null,
    };
  return {
    state: { persistence: clearAlarm(), onset: null, peak: 0, adaptation: observed.state },
    change: { kind: 'adapted', onsetAtMs: state.onset?.atMs ?? null, peak, adapted: observed.adapted },
  };
}
