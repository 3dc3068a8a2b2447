import type { Logger } from '../../../shared/src/logger';
import { toDrError } from '../../../shared/src/errors';
import { pageOutLibrary } from '../../../shared/src/component/page-out';
import {
  calibratedModelPath,
  defaultModelPath,
  readModelFile,
  savedCalibrations,
  writeModelFile,
} from './adapters/model-files';
import { OnnxAnomalyModel, type ModelInfo } from './adapters/onnx-model';
import type { Preprocessing } from './core/model-info';

/**
 * The onnxruntime sessions in use, by key (an asset, or null for every asset without its own), and the
 * files they come from: calibrations saved in the work directory, a configured model, the shipped one.
 */
export class ModelRegistry {
  private readonly sessions = new Map<string | null, OnnxAnomalyModel>();

  constructor(
    private readonly features: readonly string[],
    private readonly preprocessing: Preprocessing,
    private readonly workDir: string,
    private readonly log: Logger,
  ) {}

  get(key: string | null): OnnxAnomalyModel | undefined {
    return this.sessions.get(key) ?? this.sessions.get(null);
  }

  infos(): Map<string | null, ModelInfo> {
    return new Map([...this.sessions].map(([k, m]) => [k, m.info]));
  }

  has(key: string | null): boolean {
    return this.sessions.has(key);
  }

  async loadFile(path: string, what: string): Promise<OnnxAnomalyModel> {
    const file = readModelFile(path);
    const model = await OnnxAnomalyModel.load(file.onnx, file.info, this.features, this.preprocessing);
    this.log.info(
      {
        what,
        path,
        modelId: file.info.modelId,
        version: file.info.version,
        threshold: file.info.threshold,
        limits: file.info.limits,
      },
      'model loaded',
    );
    return model;
  }

  /**
   * Saved calibrations first, then the configured model, then the shipped one for every asset without
   * its own. Returns whether a saved calibration was loaded, and how many models were refused.
   */
  async loadAtStart(modelPath: string | null): Promise<{ calibrated: boolean; refused: number }> {
    let refused = 0;
    const saved = savedCalibrations(this.workDir);
    for (const [asset, path] of saved) {
      try {
        this.sessions.set(
          asset,
          await this.loadFile(path, asset === null ? 'calibrated' : `calibrated for ${asset}`),
        );
      } catch (err) {
        this.log.warn({ err: toDrError(err), path }, 'ignoring a saved calibration that does not fit');
      }
    }
    if (!this.sessions.has(null) && modelPath !== null) {
      try {
        this.sessions.set(null, await this.loadFile(modelPath, 'configured'));
      } catch (err) {
        refused += 1;
        this.log.error({ err: toDrError(err), path: modelPath }, 'configured model refused');
      }
    }
    if (!this.sessions.has(null)) {
      try {
        this.sessions.set(null, await this.loadFile(defaultModelPath(), 'shipped default'));
      } catch (err) {
        this.log.warn(
          { err: toDrError(err) },
          'the shipped model does not fit the configured measurements or windows',
        );
      }
    }
    this.givePagesBack('models loaded at start');
    return { calibrated: [...saved.keys()].some((a) => this.sessions.has(a)), refused };
  }

  /**
   * Once sessions are built, onnxruntime's code that only registering kernels and building sessions
   * touched goes back to the kernel (see page-out.ts): about 12 MB of the component's memory.
   */
  private givePagesBack(after: string): void {
    const report = pageOutLibrary('onnxruntime');
    if (typeof report === 'string') {
      this.log.info({ after, reason: report }, "onnxruntime's start-up pages kept");
      return;
    }
    this.log.info(
      {
        after,
        mappings: report.mappings,
        residentMbBefore: Math.round(report.residentKiBBefore / 102.4) / 10,
        residentMbAfter: Math.round(report.residentKiBAfter / 102.4) / 10,
      },
      "onnxruntime's start-up pages given back to the kernel",
    );
  }

  /** Puts a model in use for `key`, releasing the one it replaces. */
  async swap(key: string | null, model: OnnxAnomalyModel): Promise<void> {
    const old = this.sessions.get(key);
    this.sessions.set(key, model);
    if (old !== undefined && ![...this.sessions.values()].includes(old)) await old.release();
    this.givePagesBack(`a new model for ${key ?? 'every asset'}`);
  }

  /** Saves a calibrated model where a restart finds it. */
  save(key: string | null, onnx: Uint8Array, info: ModelInfo): string {
    const path = calibratedModelPath(this.workDir, key);
    writeModelFile(path, onnx, info);
    return path;
  }

  async releaseAll(): Promise<void> {
    await Promise.all([...new Set(this.sessions.values())].map((m) => m.release()));
    this.sessions.clear();
  }
}
