import type { InferenceConfig } from '../components/inference/src/config';
import { windowsOf } from '../components/inference/src/core/windows';
import { corePolicy } from '../components/inference/src/policy';
import { runDetector } from './driver';
import {
  addConfusion,
  confusion,
  nabParts,
  nabScore,
  outlierScore,
  PROFILES,
  transitions,
  type Confusion,
  type NabParts,
  type OutlierScore,
} from './metrics';
import type { SkabFile } from './skab-data';

/** SKAB's protocol: the first 400 rows of each file are the training (normal) part, the rest is scored. */
export const TRAIN_ROWS = 400;
/** SKAB's changepoint windows: 60 s after each true changepoint. */
export const NAB_WINDOW_MS = 60_000;

export interface FileResult {
  readonly group: string;
  readonly name: string;
  readonly labelled: boolean;
  readonly confusion: Confusion;
  readonly nab: Record<keyof typeof PROFILES, NabParts>;
  /** Per row of the whole file: time, score (null: no window ends there), alarm, label. */
  readonly times: number[];
  readonly scores: (number | null)[];
  readonly alarms: boolean[];
  readonly anomalies: boolean[];
  readonly events: Record<string, unknown>[];
  /** The row from which the calibrated model scored, or null when calibration never completed. */
  readonly calibratedAt: number | null;
}

/**
 * SKAB's protocol for one file, run by the component's own core: its first `trainRows` rows are the
 * calibration (the windows that lie inside them), every later row is scored with the window that ends
 * at it through the exported ONNX model, and alarms come from the component's episodes (persistence
 * filter, new normal). A calibration the screen refuses starts again, as on a gateway, and its rows
 * then carry no alarm.
 */
export async function evaluateFile(
  group: string,
  file: SkabFile,
  config: InferenceConfig,
  trainRows = TRAIN_ROWS,
): Promise<FileResult> {
  const readings = file.rows.map((r) => ({ tsMs: r.tsMs, values: r.values }));
  const calibrationWindows = windowsOf(readings.slice(0, trainRows), corePolicy(config).window).length;
  const run = await runDetector(config, file.name, readings, calibrationWindows);
  const test = file.rows.slice(trainRows);
  const alarms = run.alarms.slice(trainRows);
  const times = test.map((r) => r.tsMs);
  const predicted = transitions(times, alarms);
  const truth = test.filter((r) => r.changepoint).map((r) => r.tsMs);
  const nab = Object.fromEntries(
    Object.entries(PROFILES).map(([name, profile]) => [
      name,
      nabParts(truth, predicted, NAB_WINDOW_MS, profile),
    ]),
  ) as Record<keyof typeof PROFILES, NabParts>;
  return {
    group,
    name: file.name,
    labelled: file.labelled,
    confusion: confusion(
      test.map((r) => r.anomaly),
      alarms,
    ),
    nab,
    times: file.rows.map((r) => r.tsMs),
    scores: run.scores,
    alarms: run.alarms,
    anomalies: file.rows.map((r) => r.anomaly),
    events: run.events,
    calibratedAt: run.calibratedAt,
  };
}

export interface Summary {
  readonly files: number;
  readonly outlier: OutlierScore;
  readonly confusion: Confusion;
  readonly changepoint: { readonly standard: number; readonly lowFp: number; readonly lowFn: number };
}

export function summarise(results: readonly FileResult[]): Summary {
  const pooled = results.reduce((a, r) => addConfusion(a, r.confusion), { tp: 0, fp: 0, fn: 0, tn: 0 });
  const cp = (p: keyof typeof PROFILES): number => nabScore(results.map((r) => r.nab[p]));
  return {
    files: results.length,
    outlier: outlierScore(pooled),
    confusion: pooled,
    changepoint: { standard: cp('standard'), lowFp: cp('lowFp'), lowFn: cp('lowFn') },
  };
}
