import { judge, modelChanged, type EpisodeChange } from './episodes';
import {
  log,
  modelKeyOf,
  type CoreInput,
  type CorePolicy,
  type Counters,
  type Effect,
  type InferenceState,
  type Mutable,
  type PendingWindow,
  type Step,
} from './inference-state';
import type { ModelInfo } from './model-info';

/** Windows into scoring calls, and scores into episodes and events: the core's judging. */

const TOP_CONTRIBUTORS = 3;
const round3 = (n: number): number => Math.round(n * 1000) / 1000;

/** Pending windows into scoring calls: at most `maxBatch` per call, one call per model. */
export function onFlush(state: InferenceState, policy: CorePolicy): Step {
  const effects: Effect[] = [];
  let unscored = 0;
  for (let at = 0; at < state.pending.length; at += policy.maxBatch) {
    const byKey = new Map<string | null, PendingWindow[]>();
    for (const w of state.pending.slice(at, at + policy.maxBatch)) {
      const key = modelKeyOf(state, w.asset);
      if (!state.models.has(key)) {
        unscored += 1;
        continue;
      }
      const list = byKey.get(key);
      if (list === undefined) byKey.set(key, [w]);
      else list.push(w);
    }
    for (const [key, windows] of byKey) effects.push({ kind: 'score', key, windows });
  }
  const counters = { ...state.counters, unscoredWindows: state.counters.unscoredWindows + unscored };
  return { state: { ...state, pending: [], counters }, effects };
}

function eventOf(
  change: EpisodeChange,
  asset: string,
  w: PendingWindow,
  score: number,
  info: ModelInfo,
  contributions: ArrayLike<number>,
  offset: number,
  features: readonly string[],
): Record<string, unknown> {
  const f = features.length;
  let total = 0;
  for (let j = 0; j < f; j++) total += Math.max(0, contributions[offset + j]!);
  const contributors = Array.from({ length: f }, (_, j) => ({
    feature: features[j]!,
    share: total > 0 ? Math.max(0, contributions[offset + j]!) / total : 0,
  }))
    .sort((a, b) => b.share - a.share)
    .slice(0, TOP_CONTRIBUTORS)
    .map((c) => ({ feature: c.feature, share: round3(c.share) }));
  const event: Record<string, unknown> = {
    type: 'anomaly',
    state: change.kind,
    asset,
    atMs: w.toMs,
    score: round3(score),
    threshold: info.threshold,
    model: { id: info.modelId, version: info.version },
    window: { fromMs: w.fromMs, toMs: w.toMs },
  };
  if (change.kind === 'onset') return { ...event, contributors };
  event['onsetAtMs'] = change.onsetAtMs;
  event['durationMs'] = change.onsetAtMs === null ? null : w.toMs - change.onsetAtMs;
  event['peakScore'] = round3(change.peak);
  if (change.kind === 'recovery') event['belowSinceMs'] = change.belowSinceMs;
  if (change.kind === 'adapted') {
    // The new normal: since when it held, and the features that moved most (in the model's deviations).
    event['stableSinceMs'] = change.adapted.sinceMs;
    event['moved'] = change.adapted.moved.map((m) => ({
      feature: features[m.feature]!,
      sigmas: round3(m.sigmas),
    }));
  }
  return event;
}

export function onScored(
  state: InferenceState,
  policy: CorePolicy,
  input: Extract<CoreInput, { kind: 'scored' }>,
): Step {
  const assets = new Map(state.assets);
  const counters: Mutable<Counters> = {
    ...state.counters,
    inferenceCalls: state.counters.inferenceCalls + 1,
    windowsScored: state.counters.windowsScored + input.windows.length,
  };
  const effects: Effect[] = [];
  const f = policy.features.length;
  input.windows.forEach((w, i) => {
    const a = assets.get(w.asset);
    // Held back: the asset's own first calibration runs, or the one of the model it uses.
    if (a === undefined || state.quiet.has(w.asset) || state.quiet.has(modelKeyOf(state, w.asset))) return;
    const score = input.score[i]!;
    const judged = judge(
      a.episode,
      policy.episodes,
      input.info.standardization,
      w,
      score,
      input.info.threshold,
    );
    assets.set(w.asset, { ...a, episode: judged.state });
    const change = judged.change;
    if (change === null) return;
    if (change.kind === 'onset') counters.onsets += 1;
    else if (change.kind === 'recovery') counters.recoveries += 1;
    else counters.adaptations += 1;
    const event = eventOf(change, w.asset, w, score, input.info, input.contributions, i * f, policy.features);
    effects.push(
      log(change.kind === 'onset' ? 'warn' : 'info', `anomaly ${change.kind}`, {
        asset: w.asset,
        score: event['score'],
        threshold: input.info.threshold,
        modelId: input.info.modelId,
        ...(change.kind === 'onset' ? { contributors: event['contributors'] } : {}),
        ...(change.kind === 'adapted' ? { moved: event['moved'] } : {}),
      }),
      { kind: 'publish', event },
    );
  });
  return { state: { ...state, assets, counters }, effects };
}

/** A model is in use for `key`: alarms held back for it resume; offsets against the old centre go. */
export function onModel(
  state: InferenceState,
  key: string | null,
  info: ModelInfo,
  calibratedHere: boolean,
): Step {
  const models = new Map(state.models);
  models.set(key, info);
  const quiet = new Set(state.quiet);
  quiet.delete(key);
  const assets = new Map(state.assets);
  for (const [asset, a] of assets)
    if ((models.has(asset) ? asset : null) === key)
      assets.set(asset, { ...a, episode: modelChanged(a.episode) });
  const counters = calibratedHere
    ? { ...state.counters, calibrations: state.counters.calibrations + 1 }
    : state.counters;
  return { state: { ...state, models, quiet, assets, counters }, effects: [] };
}
