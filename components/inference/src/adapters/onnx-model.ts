import { InferenceSession, Tensor } from 'onnxruntime-node';
import { DrError } from '../../../../shared/src/errors';
import { preprocessingMismatch, type ModelInfo, type Preprocessing } from '../core/model-info';
import { MODEL_CONTRACT } from '../core/pca';

export type { ModelInfo } from '../core/model-info';

export interface Scores {
  readonly score: Float32Array;
  /** N × F, row-major. */
  readonly contributions: Float32Array;
}

/**
 * An anomaly model in an onnxruntime session. Loading checks the contract: one float input `features`
 * of shape [N, F] with F the expected feature count, outputs `score` and `contributions`, and a sidecar
 * that names the same features (and, when it says so, was made for the configured windows). A model that
 * does not fit is refused with MODEL_INVALID.
 */
export class OnnxAnomalyModel {
  private constructor(
    private readonly session: InferenceSession,
    readonly info: ModelInfo,
  ) {}

  static async load(
    onnx: Uint8Array,
    info: ModelInfo,
    expectedFeatures: readonly string[],
    preprocessing?: Preprocessing,
  ): Promise<OnnxAnomalyModel> {
    const refuse = (why: string): never => {
      throw new DrError('MODEL_INVALID', `model ${info.modelId} ${info.version}: ${why}`);
    };
    if (JSON.stringify(info.features) !== JSON.stringify(expectedFeatures))
      refuse(
        `its features ${JSON.stringify(info.features)} are not the configured ${JSON.stringify(expectedFeatures)}`,
      );
    const mismatch = preprocessing === undefined ? null : preprocessingMismatch(info, preprocessing);
    if (mismatch !== null) refuse(mismatch);
    if (!(Number.isFinite(info.threshold) && info.threshold > 0))
      refuse(`threshold ${info.threshold} is not positive`);
    let session: InferenceSession;
    try {
      session = await InferenceSession.create(onnx, {
        graphOptimizationLevel: 'all',
        intraOpNumThreads: 1,
        interOpNumThreads: 1,
        enableCpuMemArena: false,
        enableMemPattern: false,
      });
    } catch (err) {
      throw new DrError(
        'MODEL_INVALID',
        `model ${info.modelId} ${info.version} does not load: ${(err as Error).message}`,
        {
          cause: err,
        },
      );
    }
    try {
      const input = session.inputMetadata.find((m) => m.name === MODEL_CONTRACT.input);
      if (session.inputNames.length !== 1 || input === undefined)
        refuse(`expected one input ${MODEL_CONTRACT.input}, found ${session.inputNames.join(', ')}`);
      if (input !== undefined && input.isTensor) {
        if (input.type !== 'float32') refuse(`input ${input.name} is ${input.type}, not float32`);
        const dim = input.shape[1];
        if (input.shape.length !== 2 || dim !== expectedFeatures.length)
          refuse(`input shape [${input.shape.join(', ')}] does not take ${expectedFeatures.length} features`);
      }
      for (const out of MODEL_CONTRACT.outputs)
        if (!session.outputNames.includes(out))
          refuse(`no output ${out} (has ${session.outputNames.join(', ')})`);
    } catch (err) {
      await session.release();
      throw err;
    }
    return new OnnxAnomalyModel(session, info);
  }

  get featureCount(): number {
    return this.info.features.length;
  }

  /** Scores a batch of feature vectors in one call. */
  async score(batch: readonly (readonly number[])[]): Promise<Scores> {
    const f = this.featureCount;
    const data = new Float32Array(batch.length * f);
    batch.forEach((row, i) => data.set(row, i * f));
    const out = await this.session.run({
      [MODEL_CONTRACT.input]: new Tensor('float32', data, [batch.length, f]),
    });
    return {
      score: out['score']!.data as Float32Array,
      contributions: out['contributions']!.data as Float32Array,
    };
  }

  release(): Promise<void> {
    return this.session.release();
  }
}
