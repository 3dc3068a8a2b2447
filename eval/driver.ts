import type { OnnxAnomalyModel } from '../components/inference/src/adapters/onnx-model';
import { calibrate } from '../components/inference/src/calibrator';
import type { InferenceConfig } from '../components/inference/src/config';
import {
  firstCalibration,
  initialState,
  step,
  type CoreInput,
  type Effect,
  type InferenceState,
} from '../components/inference/src/core/inference';
import { inAlarm } from '../components/inference/src/core/episodes';
import { corePolicy, preprocessingOf } from '../components/inference/src/policy';

/**
 * The Inference component's core, run in process on one asset's readings, with the component's own
 * calibration (fit, ONNX export, verification) and onnxruntime scoring: what the evaluation measures is
 * what a gateway runs, without the IPC around it. Each reading is one live batch, and every effect is
 * carried out before the next reading, so a calibration is in use from the reading after it completed.
 */
export interface DetectorRun {
  /** Per reading: the score of the window that ends there (null: no window), and the alarm after it. */
  readonly scores: (number | null)[];
  readonly alarms: boolean[];
  /** Events the component would publish (anomaly onset, recovery, adapted; calibration done, refused). */
  readonly events: Record<string, unknown>[];
  /** The reading after which the calibrated model was in use, or null if none was. */
  readonly calibratedAt: number | null;
}

export async function runDetector(
  config: InferenceConfig,
  asset: string,
  readings: readonly { readonly tsMs: number; readonly values: readonly number[] }[],
  calibrationWindows: number,
): Promise<DetectorRun> {
  const cfg: InferenceConfig = {
    ...config,
    // SKAB's protocol counts rows: the calibration is the windows of the first rows, whatever they span.
    calibration: { ...config.calibration, windows: calibrationWindows, spanMs: 0, onStart: true },
  };
  const policy = corePolicy(cfg);
  const sessions = new Map<string | null, OnnxAnomalyModel>();
  const scores: (number | null)[] = [];
  const alarms: boolean[] = [];
  const events: Record<string, unknown>[] = [];
  let calibratedAt: number | null = null;
  let state: InferenceState = initialState(new Map());
  let index = 0;
  let rowScore: number | null = null;

  const run = async (first: { state: InferenceState; effects: readonly Effect[] }): Promise<void> => {
    state = first.state;
    const queue: Effect[] = [...first.effects];
    const apply = (input: CoreInput): void => {
      const next = step(state, policy, input, 0);
      state = next.state;
      queue.push(...next.effects);
    };
    while (queue.length > 0) {
      const e = queue.shift()!;
      if (e.kind === 'publish') events.push({ ...e.event });
      else if (e.kind === 'schedule-flush') apply({ kind: 'flush' });
      else if (e.kind === 'score') {
        const model = sessions.get(e.key) ?? sessions.get(null);
        if (model === undefined) continue;
        const out = await model.score(e.windows.map((w) => w.features));
        e.windows.forEach((w, i) => {
          if (w.toMs === readings[index]!.tsMs) rowScore = out.score[i]!;
        });
        apply({
          kind: 'scored',
          info: model.info,
          windows: e.windows,
          score: out.score,
          contributions: out.contributions,
        });
      } else if (e.kind === 'fit') {
        const c = await calibrate(
          e.windows,
          { features: policy.features, fit: cfg.calibration.fit, preprocessing: preprocessingOf(cfg) },
          { modelId: `calibrated-${asset}`, version: '1', origin: 'evaluation', createdAtMs: 0 },
        );
        await sessions.get(e.key)?.release();
        sessions.set(e.key, c.model);
        apply({ kind: 'model', key: e.key, info: c.info, calibrated: true });
        calibratedAt = index;
      }
    }
  };

  try {
    await run(firstCalibration(state, policy, 0));
    for (index = 0; index < readings.length; index++) {
      const r = readings[index]!;
      const body = Object.fromEntries(cfg.measurements.map((m, j) => [m, r.values[j]!]));
      rowScore = null;
      await run(
        step(
          state,
          policy,
          { kind: 'records', records: [{ lane: 'telemetry', deviceId: asset, tsMs: r.tsMs, body }] },
          0,
        ),
      );
      scores.push(rowScore);
      const episode = state.assets.get(asset)?.episode;
      alarms.push(episode !== undefined && inAlarm(episode));
    }
  } finally {
    await Promise.all([...sessions.values()].map((m) => m.release()));
  }
  return { scores, alarms, events, calibratedAt };
}
