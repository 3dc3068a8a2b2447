import {
  collect,
  screenCalibration,
  startCollection,
  type Collection,
  type ScreenPolicy,
} from './calibration';
import {
  judge,
  modelChanged,
  quietEpisode,
  scoredFeatures,
  type EpisodeChange,
  type EpisodePolicy,
  type EpisodeState,
} from './episodes';
import type { ModelInfo } from './model-info';
import { emptyWindow, pushReading, type WindowPolicy, type WindowState } from './windows';

/**
 * The Inference component's logic, without I/O: `(state, input, nowMs) -> { state, effects }`. Readings
 * become per-asset windows, windows wait for a scoring call, scores become alarm episodes, and windows of
 * normal operation become calibrations. The shell scores windows with onnxruntime, fits and swaps models,
 * publishes events and keeps the timer; it reports back with inputs. Time that rules the detector is the
 * readings' own; `nowMs` only stamps calibrations.
 */
export interface CorePolicy {
  readonly measurements: readonly string[];
  readonly features: readonly string[];
  readonly streams: readonly string[];
  readonly assetGroups: Readonly<Record<string, readonly string[]>>;
  readonly maxAssets: number;
  readonly window: WindowPolicy;
  readonly episodes: EpisodePolicy;
  readonly calibration: {
    readonly windows: number;
    readonly perAsset: boolean;
    readonly screen: ScreenPolicy;
  };
  readonly maxBatch: number;
  readonly flushMs: number;
}

/** A record of Ingest's live batch, as far as Inference reads it. */
export interface LiveRecord {
  readonly stream?: unknown;
  readonly lane?: unknown;
  readonly deviceId?: unknown;
  readonly tsMs?: unknown;
  readonly body?: unknown;
}

export interface PendingWindow {
  readonly asset: string;
  /** The window's features, and what the model scores (the asset's new-normal offset taken off). */
  readonly raw: readonly number[];
  readonly features: readonly number[];
  readonly fromMs: number;
  readonly toMs: number;
}

interface AssetState {
  readonly window: WindowState;
  readonly episode: EpisodeState;
}

export interface Counters {
  readonly readings: number;
  readonly windowsScored: number;
  readonly inferenceCalls: number;
  readonly failedWindows: number;
  readonly unscoredWindows: number;
  readonly incompleteReadings: number;
  readonly skippedReadings: number;
  readonly windowRestarts: number;
  readonly ignoredAssetReadings: number;
  readonly onsets: number;
  readonly recoveries: number;
  readonly adaptations: number;
  readonly calibrations: number;
  readonly refusedCalibrations: number;
  readonly refusedModels: number;
}

export interface InferenceState {
  readonly assets: ReadonlyMap<string, AssetState>;
  /** Models in use by key (an asset, or null for every asset without its own). */
  readonly models: ReadonlyMap<string | null, ModelInfo>;
  readonly collections: ReadonlyMap<string | null, Collection>;
  /** Keys whose alarms are held back until their first calibration is done. */
  readonly quiet: ReadonlySet<string | null>;
  /** Per asset calibration on first start: assets seen later get a collection of their own. */
  readonly calibrateNewAssets: boolean;
  readonly pending: readonly PendingWindow[];
  readonly counters: Counters;
}

export type CoreInput =
  | { readonly kind: 'records'; readonly records: readonly LiveRecord[] }
  | { readonly kind: 'flush' }
  | {
      readonly kind: 'scored';
      readonly info: ModelInfo;
      readonly windows: readonly PendingWindow[];
      readonly score: ArrayLike<number>;
      readonly contributions: ArrayLike<number>;
    }
  | { readonly kind: 'score-failed'; readonly windows: number }
  /** A model is in use for `key` (loaded at start, configured, or `calibrated` on the device). */
  | {
      readonly kind: 'model';
      readonly key: string | null;
      readonly info: ModelInfo;
      readonly calibrated: boolean;
    }
  | { readonly kind: 'model-refused'; readonly key: string | null }
  | { readonly kind: 'recalibrate'; readonly asset: string | null; readonly reason: string };

export type LogLevel = 'info' | 'warn' | 'error';

export type Effect =
  | { readonly kind: 'score'; readonly key: string | null; readonly windows: readonly PendingWindow[] }
  | {
      readonly kind: 'fit';
      readonly key: string | null;
      readonly windows: readonly (readonly number[])[];
      readonly reason: string;
      readonly assets: number;
    }
  | { readonly kind: 'schedule-flush'; readonly delayMs: number }
  | { readonly kind: 'publish'; readonly event: Readonly<Record<string, unknown>> }
  | {
      readonly kind: 'log';
      readonly level: LogLevel;
      readonly fields: Readonly<Record<string, unknown>>;
      readonly message: string;
    };

export interface Step {
  readonly state: InferenceState;
  readonly effects: readonly Effect[];
}

const TOP_CONTRIBUTORS = 3;
const round3 = (n: number): number => Math.round(n * 1000) / 1000;

const ZERO: Counters = {
  readings: 0,
  windowsScored: 0,
  inferenceCalls: 0,
  failedWindows: 0,
  unscoredWindows: 0,
  incompleteReadings: 0,
  skippedReadings: 0,
  windowRestarts: 0,
  ignoredAssetReadings: 0,
  onsets: 0,
  recoveries: 0,
  adaptations: 0,
  calibrations: 0,
  refusedCalibrations: 0,
  refusedModels: 0,
};

export function initialState(models: ReadonlyMap<string | null, ModelInfo>): InferenceState {
  return {
    assets: new Map(),
    models,
    collections: new Map(),
    quiet: new Set(),
    calibrateNewAssets: false,
    pending: [],
    counters: ZERO,
  };
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

function assetOf(policy: CorePolicy, deviceId: string): string {
  for (const [group, devices] of Object.entries(policy.assetGroups))
    if (devices.includes(deviceId)) return group;
  return deviceId;
}

/** The key of the model that scores an asset. */
export function modelKeyOf(state: InferenceState, asset: string): string | null {
  return state.models.has(asset) ? asset : null;
}

const collectionKey = (policy: CorePolicy, asset: string): string | null =>
  policy.calibration.perAsset ? asset : null;

function log(level: LogLevel, message: string, fields: Record<string, unknown> = {}): Effect {
  return { kind: 'log', level, fields, message };
}

/** Starts collecting normal windows for one key (or, per asset, for every asset known and to come). */
function recalibrate(
  state: InferenceState,
  policy: CorePolicy,
  asset: string | null,
  reason: string,
  nowMs: number,
  quiet: boolean,
): Step {
  const collections = new Map(state.collections);
  const quietKeys = new Set(state.quiet);
  let calibrateNewAssets = state.calibrateNewAssets;
  const keys: (string | null)[] = !policy.calibration.perAsset
    ? [null]
    : asset !== null
      ? [asset]
      : [...state.assets.keys()];
  if (policy.calibration.perAsset && asset === null) calibrateNewAssets = true;
  for (const key of keys) {
    collections.set(key, startCollection(key, reason, nowMs));
    if (quiet) quietKeys.add(key);
  }
  return {
    state: { ...state, collections, quiet: quietKeys, calibrateNewAssets },
    effects: [
      log('info', 'calibration started: learning normal operation', {
        asset: asset ?? 'all',
        windows: policy.calibration.windows,
        reason,
      }),
    ],
  };
}

/** First start without a saved calibration: learn, and hold alarms back until it is done. */
export function firstCalibration(state: InferenceState, policy: CorePolicy, nowMs: number): Step {
  return recalibrate(state, policy, null, 'first start', nowMs, true);
}

function onRecords(
  state: InferenceState,
  policy: CorePolicy,
  records: readonly LiveRecord[],
  nowMs: number,
): Step {
  const assets = new Map(state.assets);
  const collections = new Map(state.collections);
  const quiet = new Set(state.quiet);
  const counters: Mutable<Counters> = { ...state.counters };
  const pending = [...state.pending];
  const effects: Effect[] = [];
  const { streams, measurements } = policy;
  for (const r of records) {
    if (r.lane !== 'telemetry' || typeof r.deviceId !== 'string' || typeof r.tsMs !== 'number') continue;
    if (streams.length > 0 && !streams.includes(String(r.stream))) continue;
    const body = r.body as Record<string, unknown> | undefined;
    const values = measurements.map((m) => body?.[m]);
    if (!values.every((v): v is number => typeof v === 'number' && Number.isFinite(v))) {
      counters.incompleteReadings += 1;
      continue;
    }
    const asset = assetOf(policy, r.deviceId);
    let a = assets.get(asset);
    if (a === undefined) {
      if (assets.size >= policy.maxAssets) {
        counters.ignoredAssetReadings += 1;
        continue;
      }
      a = { window: emptyWindow, episode: quietEpisode };
      if (state.calibrateNewAssets && !state.models.has(asset) && !collections.has(asset)) {
        collections.set(asset, startCollection(asset, 'first start', nowMs));
        quiet.add(asset);
      }
    }
    counters.readings += 1;
    const pushed = pushReading(a.window, policy.window, r.tsMs, values);
    if (pushed.outcome === 'skipped') counters.skippedReadings += 1;
    if (pushed.outcome === 'restarted') counters.windowRestarts += 1;
    assets.set(asset, { ...a, window: pushed.state });
    const w = pushed.window;
    if (w === null) continue;
    const key = collectionKey(policy, asset);
    const c = collections.get(key);
    if (c !== undefined) {
      const next = collect(c, { asset, features: w.features, toMs: w.toMs }, policy.calibration.windows);
      collections.set(key, next);
    }
    pending.push({
      asset,
      raw: w.features,
      features: scoredFeatures(a.episode, w.features),
      fromMs: w.fromMs,
      toMs: w.toMs,
    });
  }
  // Calibrations that have their windows: screened, then fitted by the shell (or refused and restarted).
  for (const [key, c] of collections) {
    if (c.windows.length < policy.calibration.windows) continue;
    collections.delete(key);
    const refusal =
      policy.calibration.screen.maxShift > 0 ? screenCalibration(c.windows, policy.calibration.screen) : null;
    if (refusal === null) {
      effects.push({
        kind: 'fit',
        key,
        windows: c.windows.map((w) => w.features),
        reason: c.reason,
        assets: new Set(c.windows.map((w) => w.asset)).size,
      });
      continue;
    }
    counters.refusedCalibrations += 1;
    const feature = policy.features[refusal.feature] ?? String(refusal.feature);
    const fields = {
      asset: refusal.asset,
      calibration: key ?? 'all',
      feature,
      shift: round3(refusal.shift),
      limit: policy.calibration.screen.maxShift,
      window: { fromMs: refusal.fromMs, toMs: refusal.toMs },
      attempt: c.attempt,
    };
    effects.push(
      log(
        'warn',
        `calibration refused: ${feature} of ${refusal.asset} moved ${refusal.shift.toFixed(1)} times its spread while it learnt (a fault or a change of regime); the previous model stays and calibration starts again`,
        fields,
      ),
      { kind: 'publish', event: { type: 'calibration', state: 'refused', atMs: refusal.toMs, ...fields } },
    );
    collections.set(key, startCollection(key, c.reason, nowMs, c.attempt + 1));
  }
  const next: InferenceState = {
    ...state,
    assets,
    collections,
    quiet,
    pending,
    counters,
  };
  if (pending.length >= policy.maxBatch) effects.push({ kind: 'schedule-flush', delayMs: 0 });
  else if (pending.length > 0) effects.push({ kind: 'schedule-flush', delayMs: policy.flushMs });
  return { state: next, effects };
}

/** Pending windows into scoring calls: at most `maxBatch` per call, one call per model. */
function onFlush(state: InferenceState, policy: CorePolicy): Step {
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

function onScored(
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
function onModel(state: InferenceState, key: string | null, info: ModelInfo, calibratedHere: boolean): Step {
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

export function step(state: InferenceState, policy: CorePolicy, input: CoreInput, nowMs: number): Step {
  switch (input.kind) {
    case 'records':
      return onRecords(state, policy, input.records, nowMs);
    case 'flush':
      return onFlush(state, policy);
    case 'scored':
      return onScored(state, policy, input);
    case 'score-failed':
      return {
        state: {
          ...state,
          counters: { ...state.counters, failedWindows: state.counters.failedWindows + input.windows },
        },
        effects: [],
      };
    case 'model':
      return onModel(state, input.key, input.info, input.calibrated);
    case 'model-refused':
      return {
        state: {
          ...state,
          counters: { ...state.counters, refusedModels: state.counters.refusedModels + 1 },
        },
        effects: [],
      };
    case 'recalibrate':
      return recalibrate(state, policy, input.asset, input.reason, nowMs, false);
  }
}

/** Assets in alarm, for the metrics. */
export function activeAlarms(state: InferenceState): string[] {
  return [...state.assets].filter(([, a]) => a.episode.persistence.alarmed).map(([asset]) => asset);
}
