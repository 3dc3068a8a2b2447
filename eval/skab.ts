import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { OnnxAnomalyModel } from '../components/inference/src/adapters/onnx-model';
import { PersistenceFilter } from '../components/inference/src/core/alarm';
import { featureNames, windowFeatures } from '../components/inference/src/core/features';
import { fitPca, pcaToOnnx, type FitOptions } from '../components/inference/src/core/pca';
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

export const SKAB_MEASUREMENTS = [
  'Accelerometer1RMS',
  'Accelerometer2RMS',
  'Current',
  'Pressure',
  'Temperature',
  'Thermocouple',
  'Voltage',
  'Volume Flow RateRMS',
];

export interface SkabRow {
  readonly tsMs: number;
  readonly values: number[];
  readonly anomaly: boolean;
  readonly changepoint: boolean;
}

export interface SkabFile {
  readonly name: string;
  readonly rows: SkabRow[];
}

/** Reads one SKAB CSV (`;`-separated, header row, CRLF, `YYYY-MM-DD hh:mm:ss` times). */
export function readSkabCsv(path: string): SkabFile {
  const lines = readFileSync(path, 'utf8')
    .split(/\r?\n/)
    .filter((l) => l.trim() !== '');
  const header = (lines[0] ?? '').split(';');
  const col = (name: string): number => {
    const i = header.indexOf(name);
    if (i < 0) throw new Error(`${path}: no column ${name}`);
    return i;
  };
  const ts = col('datetime');
  const measured = SKAB_MEASUREMENTS.map(col);
  const anomaly = header.indexOf('anomaly');
  const changepoint = header.indexOf('changepoint');
  const rows = lines.slice(1).map((line, i) => {
    const cells = line.split(';');
    const tsMs = Date.parse(`${(cells[ts] ?? '').replace(' ', 'T')}Z`);
    const values = measured.map((c) => Number(cells[c]));
    if (!Number.isFinite(tsMs) || values.some((v) => !Number.isFinite(v)))
      throw new Error(`${path}: row ${i + 2} is not a reading`);
    return {
      tsMs,
      values,
      anomaly: anomaly >= 0 && Number(cells[anomaly]) === 1,
      changepoint: changepoint >= 0 && Number(cells[changepoint]) === 1,
    };
  });
  return { name: basename(path), rows };
}

export function readSkabDir(dir: string): SkabFile[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.csv'))
    .sort((a, b) => Number.parseInt(a, 10) - Number.parseInt(b, 10) || a.localeCompare(b))
    .map((f) => readSkabCsv(join(dir, f)));
}

export interface DetectorSettings {
  /** Readings per window. */
  readonly window: number;
  readonly fit: FitOptions;
  readonly persistence: { readonly k: number; readonly n: number };
  readonly threshold: number;
}

export interface FileResult {
  readonly name: string;
  readonly confusion: Confusion;
  readonly nab: Record<keyof typeof PROFILES, NabParts>;
  /** Per test row: score and alarm. */
  readonly scores: number[];
  readonly alarms: boolean[];
}

/**
 * SKAB's protocol for one file: calibrate on the first `trainRows` rows (the windows that lie inside
 * them), then score every later row with the window that ends at it, through the exported ONNX model,
 * and turn scores into alarms with the persistence filter, as the component does.
 */
export async function evaluateFile(
  file: SkabFile,
  settings: DetectorSettings,
  trainRows = 400,
): Promise<FileResult> {
  const w = settings.window;
  const values = file.rows.map((r) => r.values);
  const windowAt = (end: number): number[] => windowFeatures(values.slice(end - w + 1, end + 1));
  const train: number[][] = [];
  for (let end = w - 1; end < trainRows; end++) train.push(windowAt(end));
  const features = featureNames(SKAB_MEASUREMENTS);
  const pca = fitPca(features, train, settings.fit);
  const info = {
    modelId: `skab-${file.name}`,
    version: '1',
    features,
    threshold: settings.threshold,
    origin: 'calibration',
    createdAtMs: 0,
  };
  const model = await OnnxAnomalyModel.load(pcaToOnnx(pca, info), info, features);
  const test = file.rows.slice(trainRows);
  let scores: number[];
  try {
    const batch = test.map((_, i) => windowAt(trainRows + i));
    scores = Array.from((await model.score(batch)).score);
  } finally {
    await model.release();
  }
  const filter = new PersistenceFilter({ ...settings.persistence, threshold: settings.threshold });
  const alarms = scores.map((s) => {
    filter.push(s);
    return filter.active;
  });
  const times = test.map((r) => r.tsMs);
  const predicted = transitions(times, alarms);
  const truth = test.filter((r) => r.changepoint).map((r) => r.tsMs);
  const nab = Object.fromEntries(
    Object.entries(PROFILES).map(([name, profile]) => [name, nabParts(truth, predicted, 60_000, profile)]),
  ) as Record<keyof typeof PROFILES, NabParts>;
  return {
    name: file.name,
    confusion: confusion(
      test.map((r) => r.anomaly),
      alarms,
    ),
    nab,
    scores,
    alarms,
  };
}

export interface Summary {
  readonly outlier: OutlierScore;
  readonly changepoint: { readonly standard: number; readonly lowFp: number; readonly lowFn: number };
}

export function summarise(results: readonly FileResult[]): Summary {
  const pooled = results.reduce((a, r) => addConfusion(a, r.confusion), { tp: 0, fp: 0, fn: 0, tn: 0 });
  const cp = (p: keyof typeof PROFILES): number => nabScore(results.map((r) => r.nab[p]));
  return {
    outlier: outlierScore(pooled),
    changepoint: { standard: cp('standard'), lowFp: cp('lowFp'), lowFn: cp('lowFn') },
  };
}
