import { collect, collected, screenCalibration, startCollection, type Collection } from './calibration';
import { quietEpisode, scoredFeatures } from './episodes';
import {
  log,
  type CorePolicy,
  type Counters,
  type Effect,
  type InferenceState,
  type LiveRecord,
  type Mutable,
  type Step,
} from './inference-state';
import { emptyWindow, pushReading } from './windows';

/** Readings into windows and calibrations: the core's intake. */

const round3 = (n: number): number => Math.round(n * 1000) / 1000;

function assetOf(policy: CorePolicy, deviceId: string): string {
  for (const [group, devices] of Object.entries(policy.assetGroups))
    if (devices.includes(deviceId)) return group;
  return deviceId;
}

const collectionKey = (policy: CorePolicy, asset: string): string | null =>
  policy.calibration.perAsset ? asset : null;

/** Starts collecting normal windows for one key (or, per asset, for every asset known and to come). */
export function recalibrate(
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

/**
 * A collection that has its windows: screened, then handed to the fit (the shell's), or refused with the
 * feature and times named, and collection starts again with the next window.
 */
function finish(
  policy: CorePolicy,
  collections: Map<string | null, Collection>,
  key: string | null,
  c: Collection,
  nowMs: number,
  counters: Mutable<Counters>,
): Effect[] {
  collections.delete(key);
  const refusal =
    policy.calibration.screen.maxShift > 0 ? screenCalibration(c.windows, policy.calibration.screen) : null;
  if (refusal === null)
    return [
      {
        kind: 'fit',
        key,
        windows: c.windows.map((w) => w.features),
        reason: c.reason,
        assets: new Set(c.windows.map((w) => w.asset)).size,
      },
    ];
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
  collections.set(key, startCollection(key, c.reason, nowMs, c.attempt + 1));
  return [
    log(
      'warn',
      `calibration refused: ${feature} of ${refusal.asset} moved ${refusal.shift.toFixed(1)} times its spread while it learnt (a fault or a change of regime); the previous model stays and calibration starts again`,
      fields,
    ),
    { kind: 'publish', event: { type: 'calibration', state: 'refused', atMs: refusal.toMs, ...fields } },
  ];
}

export function onRecords(
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
    counters.windows += 1;
    const key = collectionKey(policy, asset);
    const c = collections.get(key);
    if (c !== undefined) {
      const next = collect(c, { asset, features: w.features, toMs: w.toMs }, policy.calibration);
      // Screened on the window that completes it, so the next attempt starts with the window after it,
      // wherever the batch boundaries fall.
      if (collected(next, policy.calibration))
        effects.push(...finish(policy, collections, key, next, nowMs, counters));
      else collections.set(key, next);
    }
    pending.push({
      asset,
      raw: w.features,
      features: scoredFeatures(a.episode, w.features),
      fromMs: w.fromMs,
      toMs: w.toMs,
    });
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
