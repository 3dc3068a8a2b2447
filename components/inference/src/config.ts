import { z } from 'zod';
import { TOPICS } from '../../../shared/src/messages/topics';
import { cfg } from '../../../shared/src/config';

export const INFERENCE_COMPONENT = 'com.edgedr.Inference';
export const INFERENCE_VERSION = '0.1.0';

/** The pump measurements the shipped model was made for (names as Ingest stores them). */
export const DEFAULT_MEASUREMENTS = [
  'accelerometer1RMS',
  'accelerometer2RMS',
  'current',
  'pressure',
  'temperature',
  'thermocouple',
  'voltage',
  'volumeFlowRateRMS',
];

/** Slow thermal channels: fed as their deviation from their own trailing mean. */
export const DEFAULT_DETRENDED = ['temperature', 'thermocouple'];
export const DEFAULT_ADAPT_AFTER_MS = 600_000;
export const DEFAULT_MAX_SHIFT = 10;
export const DEFAULT_OFF_DELAY_MS = 0;
/** The design's "first N minutes" of normal operation. */
export const DEFAULT_CALIBRATION_SPAN_MS = 600_000;

const fitSchema = z.strictObject({
  /** Confidence of the T² and Q control limits. */
  alpha: cfg.number((n) => n.gt(0.5).lt(1)).default(0.99999),
  /** Keep the fewest principal components that explain this share of the variance. */
  explainedVariance: cfg.number((n) => n.gt(0).max(1)).default(0.9),
  /** A feature's spread is at least this share of its level (a sensor constant during calibration). */
  minRelativeStd: cfg.number((n) => n.gt(0).max(1)).default(0.01),
});

const screenSchema = z.strictObject({
  /** Each asset's calibration windows are cut into this many slices, in time order. */
  blocks: cfg.int((n) => n.min(2).max(50)).default(6),
  /**
   * A calibration is refused when a feature's slice medians differ by more than this many within-slice
   * spreads (a fault or a change of regime while it learnt); 0 turns the screen off.
   */
  maxShift: cfg.number((n) => n.min(0)).default(DEFAULT_MAX_SHIFT),
});

export const inferenceConfigSchema = z
  .strictObject({
    /** Ingest's committed batches. */
    liveTopic: z.string().min(1).default(TOPICS.ingestLive),
    /** Readings of other streams are ignored; empty: every telemetry stream. */
    streams: z.array(z.string().min(1)).default([]),
    /** The measurements a window is built from, in the model's feature order. */
    measurements: z.array(z.string().min(1)).min(1).default(DEFAULT_MEASUREMENTS),
    /** Devices analysed together as one asset; other devices are an asset each. */
    assetGroups: z.record(z.string().min(1), z.array(z.string().min(1)).min(1)).default({}),
    window: z
      .strictObject({
        /** Readings per window. */
        size: cfg.int((n) => n.min(2).max(1_000)).default(5),
        /** A window is scored every `step` readings. */
        step: cfg.int((n) => n.min(1).max(1_000)).default(1),
        /** A reading this much later than the previous one starts the window afresh (a gap in the data). */
        maxGapMs: cfg.int((n) => n.min(1)).default(10_000),
      })
      .default({ size: 5, step: 1, maxGapMs: 10_000 }),
    /**
     * Slow channels fed as their deviation from their own trailing mean (an exponential average over the
     * readings' timestamps), so a pump warming up over an hour is not an anomaly; a fast change still is.
     */
    detrend: z
      .strictObject({
        measurements: z.array(z.string().min(1)).default(DEFAULT_DETRENDED),
        timeConstantMs: cfg.int((n) => n.min(1_000)).default(120_000),
      })
      .default({ measurements: DEFAULT_DETRENDED, timeConstantMs: 120_000 }),
    /** An alarm starts after k of the last n windows score above the threshold, and ends after k of n below. */
    persistence: z
      .strictObject({
        k: cfg.int((n) => n.min(1)).default(5),
        n: cfg.int((n) => n.min(1).max(30)).default(9),
        /**
         * An alarm ends once its windows have stayed below for this long (the readings' time); a crossing
         * within it continues the alarm instead of raising a new one. 0: it ends with the filter.
         */
        offDelayMs: cfg.int((n) => n.min(0).max(3_600_000)).default(DEFAULT_OFF_DELAY_MS),
      })
      .default({ k: 5, n: 9, offDelayMs: DEFAULT_OFF_DELAY_MS }),
    /**
     * An alarm whose state has stayed stable for `afterMs` (the readings' time) is accepted as the asset's
     * new normal, with an `adapted` event; 0 never accepts one.
     */
    adaptation: z
      .strictObject({
        afterMs: cfg.int((n) => n.min(0)).default(DEFAULT_ADAPT_AFTER_MS),
        /** Slots the period is cut into; each slot's mean must stay within `tolerance` of the period's. */
        slots: cfg.int((n) => n.min(2).max(100)).default(5),
        /** In the model's standard deviations, per feature. */
        tolerance: cfg.number((n) => n.gt(0)).default(1),
      })
      .default({ afterMs: DEFAULT_ADAPT_AFTER_MS, slots: 5, tolerance: 1 }),
    /** A model file (.onnx) with its sidecar (`<file>.json`), e.g. an artifact of a model component. */
    modelPath: cfg.nullable(z.string().min(1)).default(null),
    calibration: z
      .strictObject({
        /** Calibrate from the first windows after the first start (no calibrated model saved yet). */
        onStart: cfg.bool().default(true),
        /** Windows of normal operation to learn from. */
        windows: cfg.int((n) => n.min(20).max(100_000)).default(300),
        /**
         * ...spread over at least this much of the readings' own time (per collection), so a calibration
         * sees minutes of normal operation at any reading rate; 0: as soon as there are `windows`.
         */
        spanMs: cfg.int((n) => n.min(0)).default(DEFAULT_CALIBRATION_SPAN_MS),
        /** One model per asset instead of one for all. */
        perAsset: cfg.bool().default(false),
        fit: fitSchema.default(fitSchema.parse({})),
        screen: screenSchema.default(screenSchema.parse({})),
      })
      .default({
        onStart: true,
        windows: 300,
        spanMs: DEFAULT_CALIBRATION_SPAN_MS,
        perAsset: false,
        fit: fitSchema.parse({}),
        screen: screenSchema.parse({}),
      }),
    /** Windows scored together in one inference call, at most; and how long a window may wait for others. */
    maxBatch: cfg.int((n) => n.min(1).max(4_096)).default(64),
    flushMs: cfg.int((n) => n.min(1).max(10_000)).default(50),
    /** Assets tracked at most (memory bound); readings of further assets are counted and ignored. */
    maxAssets: cfg.int((n) => n.min(1)).default(1_000),
    /** Local topic for actuators and the status page. */
    alertTopic: z.string().min(1).default(TOPICS.inferenceAlerts),
    /** Ingest's topic for anomaly events (stored in the alert lane). */
    anomalyTopic: z.string().min(1).default(TOPICS.inferenceAnomalies),
    commandsTopic: z.string().min(1).default(TOPICS.inferenceCommands),
    metricsTopic: z.string().min(1).default(TOPICS.inferenceMetrics),
    metricsIntervalMs: cfg.int((n) => n.min(100)).default(10_000),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'),
  })
  .superRefine((c, ctx) => {
    if (!(c.persistence.k > c.persistence.n / 2 && c.persistence.k <= c.persistence.n))
      ctx.addIssue({
        code: 'custom',
        path: ['persistence'],
        message: `k must be more than half of n and at most n (k ${c.persistence.k}, n ${c.persistence.n})`,
      });
    for (const m of c.detrend.measurements)
      if (!c.measurements.includes(m))
        ctx.addIssue({
          code: 'custom',
          path: ['detrend', 'measurements'],
          message: `${m} is not one of the measurements`,
        });
    if (c.calibration.windows <= 2 * c.measurements.length + 1)
      ctx.addIssue({
        code: 'custom',
        path: ['calibration', 'windows'],
        message: `at least ${2 * c.measurements.length + 2} windows are needed for ${c.measurements.length} measurements`,
      });
  });

export type InferenceConfig = z.output<typeof inferenceConfigSchema>;
