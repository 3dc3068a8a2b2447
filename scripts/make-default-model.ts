/**
 * Writes the model shipped with the Inference component, reproducibly: one hour of simulated normal
 * operation of one pump (seeded), windows as the component builds them, the PCA detector fitted with the
 * component's default settings and exported to ONNX.
 *   npm run model:default   → components/inference/models/default.onnx and default.json
 */
import { join } from 'node:path';
import { PumpSimulator } from '../dev/pump-simulator';
import { writeModelFile } from '../components/inference/src/adapters/model-files';
import {
  DEFAULT_MEASUREMENTS,
  INFERENCE_VERSION,
  inferenceConfigSchema,
} from '../components/inference/src/config';
import { featureNames, slidingWindowFeatures } from '../components/inference/src/core/features';
import { fitPca, pcaToOnnx } from '../components/inference/src/core/pca';

export const DEFAULT_MODEL_SEED = 20261126;
const READINGS = 3_600;
/** A fixed date, so the file's bytes do not depend on when it was made. */
const CREATED_AT_MS = Date.UTC(2026, 10, 26);

export function makeDefaultModel(): {
  onnx: Buffer;
  info: Parameters<typeof writeModelFile>[2];
  limits: { t2: number; q: number; components: number; alpha: number };
} {
  const config = inferenceConfigSchema.parse({});
  const sim = new PumpSimulator(DEFAULT_MODEL_SEED, ['pump-sim'], CREATED_AT_MS);
  const rows = Array.from({ length: READINGS }, () => {
    const [r] = sim.next();
    return DEFAULT_MEASUREMENTS.map((m) => r!.measurements[m]!);
  });
  const windows = slidingWindowFeatures(rows, config.window.size, config.window.step);
  const features = featureNames(DEFAULT_MEASUREMENTS);
  const fit = fitPca(features, windows, config.calibration.fit);
  const limits = { t2: fit.t2Limit, q: fit.qLimit, components: fit.eigenvalues.length, alpha: fit.alpha };
  const info = {
    modelId: 'default-pump',
    version: INFERENCE_VERSION,
    features,
    threshold: 1,
    origin: `scripts/make-default-model.ts: ${READINGS} simulated readings, seed ${DEFAULT_MODEL_SEED}`,
    createdAtMs: CREATED_AT_MS,
    limits,
  };
  return { onnx: pcaToOnnx(fit, info), info, limits };
}

if (require.main === module) {
  const { onnx, info, limits } = makeDefaultModel();
  const path = join(__dirname, '..', 'components', 'inference', 'models', 'default.onnx');
  writeModelFile(path, onnx, info);
  console.log(
    `wrote ${path} (${onnx.length} bytes): ${limits.components} components, T² limit ${limits.t2.toFixed(3)}, Q limit ${limits.q.toFixed(3)}`,
  );
}
