import type { InferenceConfig } from './config';
import type { CorePolicy } from './core/inference';
import type { Preprocessing } from './core/model-info';
import { featureNames } from './core/features';

/** The core's policy from a validated configuration. */
export function corePolicy(config: InferenceConfig): CorePolicy {
  const detrended = config.detrend.measurements;
  return {
    measurements: config.measurements,
    features: featureNames(config.measurements, detrended),
    streams: config.streams,
    assetGroups: config.assetGroups,
    maxAssets: config.maxAssets,
    window: {
      size: config.window.size,
      step: config.window.step,
      maxGapMs: config.window.maxGapMs,
      detrended: detrended.map((m) => config.measurements.indexOf(m)),
      trendTimeConstantMs: config.detrend.timeConstantMs,
    },
    episodes: {
      persistence: { k: config.persistence.k, n: config.persistence.n },
      offDelayMs: config.persistence.offDelayMs,
      adaptation: {
        afterMs: config.adaptation.afterMs,
        blocks: config.adaptation.slots,
        tolerance: config.adaptation.tolerance,
      },
    },
    calibration: {
      windows: config.calibration.windows,
      spanMs: config.calibration.spanMs,
      perAsset: config.calibration.perAsset,
      screen: {
        ...config.calibration.screen,
        minRelativeStd: config.calibration.fit.minRelativeStd,
        // Window means (the first half of the features) of the measurements fed as they are.
        features: config.measurements.flatMap((m, j) => (detrended.includes(m) ? [] : [j])),
      },
    },
    maxBatch: config.maxBatch,
    flushMs: config.flushMs,
  };
}

/** How the configured windows are built, as a model's sidecar records it. */
export function preprocessingOf(config: InferenceConfig): Preprocessing {
  return { windowSize: config.window.size, trendTimeConstantMs: config.detrend.timeConstantMs };
}
