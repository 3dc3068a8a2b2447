import { DrError } from '../../../shared/src/errors';
import { OnnxAnomalyModel } from './adapters/onnx-model';
import type { ModelInfo, Preprocessing } from './core/model-info';
import { fitPca, pcaToOnnx, scorePca, type FitOptions, type PcaModel } from './core/pca';

export interface Calibrated {
  readonly model: OnnxAnomalyModel;
  readonly onnx: Buffer;
  readonly info: ModelInfo;
  readonly fit: PcaModel;
  readonly fitMs: number;
}

export interface CalibrationSettings {
  readonly features: readonly string[];
  readonly fit: FitOptions;
  readonly preprocessing: Preprocessing;
}

/** Checked against the TypeScript reference: the exported graph must compute what the fit says. */
const VERIFY_WINDOWS = 256;
const MAX_RELATIVE_ERROR = 1e-4;

/** The identity and sidecar of a fitted detector. */
export function fittedInfo(
  fit: PcaModel,
  id: Pick<ModelInfo, 'modelId' | 'version' | 'origin' | 'createdAtMs'>,
  preprocessing: Preprocessing,
): ModelInfo {
  return {
    ...id,
    features: [...fit.features],
    threshold: 1,
    limits: { t2: fit.t2Limit, q: fit.qLimit, components: fit.eigenvalues.length, alpha: fit.alpha },
    standardization: { mean: [...fit.mean], std: fit.invStd.map((v) => 1 / v) },
    preprocessing,
  };
}

/**
 * Fits the detector on windows of normal operation, exports it to ONNX, loads it in onnxruntime and checks
 * its scores against the TypeScript reference on the windows it learnt from. A model that disagrees is
 * released and refused (MODEL_INVALID).
 */
export async function calibrate(
  windows: readonly (readonly number[])[],
  settings: CalibrationSettings,
  id: Pick<ModelInfo, 'modelId' | 'version' | 'origin' | 'createdAtMs'>,
): Promise<Calibrated> {
  const started = performance.now();
  const fit = fitPca(settings.features, windows, settings.fit);
  const info = fittedInfo(fit, id, settings.preprocessing);
  const onnx = pcaToOnnx(fit, info);
  const model = await OnnxAnomalyModel.load(onnx, info, settings.features, settings.preprocessing);
  const check = windows.slice(0, VERIFY_WINDOWS);
  const out = await model.score(check);
  let worst = 0;
  check.forEach((x, i) => {
    const ref = scorePca(fit, x).score;
    worst = Math.max(worst, Math.abs(out.score[i]! - ref) / Math.max(1, Math.abs(ref)));
  });
  if (!(worst <= MAX_RELATIVE_ERROR)) {
    await model.release();
    throw new DrError(
      'MODEL_INVALID',
      `calibrated model ${id.modelId} refused: ONNX scores differ from the fit by ${worst.toExponential(2)}`,
    );
  }
  return { model, onnx, info, fit, fitMs: performance.now() - started };
}
