/**
 * Writes the model shipped with the Inference component, reproducibly: one hour of simulated normal
 * operation of one pump (seeded), windows as the component builds them with its default configuration
 * (detrended thermal channels included), the PCA detector fitted with the component's default settings
 * and exported to ONNX.
 *   npm run model:default   → components/inference/models/default.onnx and default.json
 */
import { join } from 'node:path';
import { PumpSimulator } from '../dev/pump-simulator';
import { writeModelFile } from '../components/inference/src/adapters/model-files';
import { fittedInfo } from '../components/inference/src/calibrator';
import { INFERENCE_VERSION, inferenceConfigSchema } from '../components/inference/src/config';
import type { ModelInfo } from '../components/inference/src/core/model-info';
import { fitPca, pcaToOnnx } from '../components/inference/src/core/pca';
import { windowsOf } from '../components/inference/src/core/windows';
import { corePolicy, preprocessingOf } from '../components/inference/src/policy';

export const DEFAULT_MODEL_SEED = 20261126;
const READINGS = 3_600;
/** A fixed date, so the file's bytes do not depend on when it was made. */
const CREATED_AT_MS = Date.UTC(2026, 10, 26);

export function makeDefaultModel(): { onnx: Buffer; info: ModelInfo } {
  const config = inferenceConfigSchema.parse({});
  const policy = corePolicy(config);
  const sim = new PumpSimulator(DEFAULT_MODEL_SEED, ['pump-sim'], CREATED_AT_MS);
  const readings = Array.from({ length: READINGS }, () => {
    const [r] = sim.next();
    return { tsMs: r!.tsMs, values: config.measurements.map((m) => r!.measurements[m]!) };
  });
  const windows = windowsOf(readings, policy.window).map((w) => w.window.features);
  const fit = fitPca(policy.features, windows, config.calibration.fit);
  const info = fittedInfo(
    fit,
    {
      modelId: 'default-pump',
      version: INFERENCE_VERSION,
      origin: `scripts/make-default-model.ts: ${READINGS} simulated readings, seed ${DEFAULT_MODEL_SEED}`,
      createdAtMs: CREATED_AT_MS,
    },
    preprocessingOf(config),
  );
  return { onnx: pcaToOnnx(fit, info), info };
}

if (require.main === module) {
  const { onnx, info } = makeDefaultModel();
  const path = join(__dirname, '..', 'components', 'inference', 'models', 'default.onnx');
  writeModelFile(path, onnx, info);
  const l = info.limits ?? {};
  console.log(
    `wrote ${path} (${onnx.length} bytes): ${l['components']} components, T² limit ${l['t2']?.toFixed(3)}, Q limit ${l['q']?.toFixed(3)}`,
  );
}
