import type { Standardization } from './adaptation';

/** What a model file's sidecar (`<model>.json`) says about it. */
export interface ModelInfo {
  readonly modelId: string;
  readonly version: string;
  readonly features: readonly string[];
  /** Scores above this are anomalous (1 for the PCA detector: its limits are built in). */
  readonly threshold: number;
  readonly origin: string;
  readonly createdAtMs: number;
  readonly limits?: Readonly<Record<string, number>>;
  /** The model's centre and spread per feature; without it an alarm is never accepted as a new normal. */
  readonly standardization?: Standardization;
  /** How the windows it was made for were built; a model made for other windows is refused. */
  readonly preprocessing?: Preprocessing;
}

export interface Preprocessing {
  readonly windowSize: number;
  readonly trendTimeConstantMs: number;
}

/** Why a model does not fit the configured windows, or null. */
export function preprocessingMismatch(info: ModelInfo, expected: Preprocessing): string | null {
  const p = info.preprocessing;
  if (p === undefined) return null;
  if (p.windowSize !== expected.windowSize)
    return `it was made for windows of ${p.windowSize} readings, the configuration builds ${expected.windowSize}`;
  if (p.trendTimeConstantMs !== expected.trendTimeConstantMs)
    return `it was made for trailing means of ${p.trendTimeConstantMs} ms, the configuration uses ${expected.trendTimeConstantMs} ms`;
  return null;
}
