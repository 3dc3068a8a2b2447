import type { Collection, ScreenPolicy } from './calibration';
import { inAlarm, type EpisodePolicy, type EpisodeState } from './episodes';
import type { ModelInfo } from './model-info';
import type { WindowPolicy, WindowState } from './windows';

/** The Inference core's policy, state, inputs and effects (see `inference.ts`). */
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
    readonly spanMs: number;
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

export interface AssetState {
  readonly window: WindowState;
  readonly episode: EpisodeState;
}

export interface Counters {
  readonly readings: number;
  /** Windows built; each ends as scored, failed or unscored once its call is done. */
  readonly windows: number;
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

export const ZERO_COUNTERS: Counters = {
  readings: 0,
  windows: 0,
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
    counters: ZERO_COUNTERS,
  };
}

export type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** The key of the model that scores an asset. */
export function modelKeyOf(state: InferenceState, asset: string): string | null {
  return state.models.has(asset) ? asset : null;
}

export function log(level: LogLevel, message: string, fields: Record<string, unknown> = {}): Effect {
  return { kind: 'log', level, fields, message };
}

/** Assets in alarm, for the metrics. */
export function activeAlarms(state: InferenceState): string[] {
  return [...state.assets].filter(([, a]) => inAlarm(a.episode)).map(([asset]) => asset);
}
