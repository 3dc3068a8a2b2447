import type { ComponentDeps, RunningService } from '../../../shared/src/component/run';
import { periodic } from '../../../shared/src/component/periodic';
import { toDrError } from '../../../shared/src/errors';
import { publishDocument, readObject } from '../../../shared/src/messages/documents';
import { decodeLiveBatch } from '../../../shared/src/messages/live-batch';
import type { DrRecord } from '../../../shared/src/record';
import type { LocalMessage, Subscription } from '../../../shared/src/runtime/port';
import {
  calibratedModelPath,
  defaultModelPath,
  readModelFile,
  savedCalibrations,
  writeModelFile,
} from './adapters/model-files';
import { OnnxAnomalyModel, type ModelInfo } from './adapters/onnx-model';
import type { InferenceConfig } from './config';
import { PersistenceFilter } from './core/alarm';
import { featureNames, windowFeatures } from './core/features';
import { fitPca, pcaToOnnx, scorePca } from './core/pca';

interface AssetState {
  rows: number[][];
  times: number[];
  sinceStep: number;
  readonly filter: PersistenceFilter;
  onset: { atMs: number; score: number } | null;
}

interface Window {
  readonly asset: string;
  readonly features: number[];
  readonly fromMs: number;
  readonly toMs: number;
}

interface Calibration {
  readonly windows: number[][];
  readonly reason: string;
  readonly startedAtMs: number;
}

interface Counters {
  windowsScored: number;
  inferenceCalls: number;
  failedWindows: number;
  incompleteReadings: number;
  ignoredAssetReadings: number;
  onsets: number;
  recoveries: number;
  calibrations: number;
  refusedModels: number;
  lastCallMs: number;
  /** Messages on the live topic that were not live batches. */
  badLiveMessages: number;
  /** Committed records received in live batches. */
  liveRecords: number;
}

const TOP_CONTRIBUTORS = 3;

function memoryMb(): Record<string, number> {
  const m = process.memoryUsage();
  const mb = (n: number): number => Math.round(n / 1e5) / 10;
  return { rss: mb(m.rss), heapUsed: mb(m.heapUsed), heapTotal: mb(m.heapTotal), external: mb(m.external) };
}

/**
 * Inference: per-asset sliding windows over Ingest's committed batches, feature vectors scored by an ONNX
 * model in batches across assets, a persistence filter that turns scores into one event at onset and one
 * at recovery, and calibration on the device (fit, export, validate, hot-swap, persist). Everything is
 * local: it keeps working with every region down.
 */
export class InferenceService implements RunningService<InferenceConfig> {
  private config: InferenceConfig;
  private readonly features: string[];
  /** Models by asset; `null` is the model for every asset without its own. */
  private readonly models = new Map<string | null, OnnxAnomalyModel>();
  private readonly assets = new Map<string, AssetState>();
  private readonly calibrations = new Map<string | null, Calibration>();
  /** Alarms stay quiet until the first calibration on a fresh gateway is done. */
  private quietUntilCalibrated: boolean;
  private pending: Window[] = [];
  private flushTimer: NodeJS.Timeout | undefined;
  private chain: Promise<void> = Promise.resolve();
  private readonly subscriptions: Subscription[] = [];
  private readonly abort = new AbortController();
  private readonly loops: Promise<void>[] = [];
  private readonly counters: Counters = {
    windowsScored: 0,
    inferenceCalls: 0,
    failedWindows: 0,
    incompleteReadings: 0,
    ignoredAssetReadings: 0,
    onsets: 0,
    recoveries: 0,
    calibrations: 0,
    refusedModels: 0,
    lastCallMs: 0,
    badLiveMessages: 0,
    liveRecords: 0,
  };

  static async start(deps: ComponentDeps<InferenceConfig>): Promise<InferenceService> {
    const service = new InferenceService(deps);
    await service.loadModels();
    const { runtime } = deps;
    service.subscriptions.push(
      await runtime.subscribe(deps.config.liveTopic, (m) => service.onLive(m)),
      await runtime.subscribe(deps.config.commandsTopic, (m) => service.onCommand(m)),
    );
    service.loops.push(
      periodic(
        deps.clock,
        () => service.config.metricsIntervalMs,
        () => service.publishMetrics(),
        service.abort.signal,
      ),
    );
    return service;
  }

  private constructor(private readonly deps: ComponentDeps<InferenceConfig>) {
    this.config = deps.config;
    this.features = featureNames(deps.config.measurements);
    this.quietUntilCalibrated = false;
  }

  private get log() {
    return this.deps.logger;
  }

  // ---- models ------------------------------------------------------------------------------------

  private async loadFile(path: string, what: string): Promise<OnnxAnomalyModel> {
    const file = readModelFile(path);
    const model = await OnnxAnomalyModel.load(file.onnx, file.info, this.features);
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

  private async loadModels(): Promise<void> {
    const workDir = this.deps.runtime.workDir;
    for (const [asset, path] of savedCalibrations(workDir)) {
      try {
        this.models.set(
          asset,
          await this.loadFile(path, asset === null ? 'calibrated' : `calibrated for ${asset}`),
        );
      } catch (err) {
        this.log.warn({ err: toDrError(err), path }, 'ignoring a saved calibration that does not fit');
      }
    }
    if (!this.models.has(null)) {
      if (this.config.modelPath !== null) {
        try {
          this.models.set(null, await this.loadFile(this.config.modelPath, 'configured'));
        } catch (err) {
          this.counters.refusedModels += 1;
          this.log.error({ err: toDrError(err), path: this.config.modelPath }, 'configured model refused');
        }
      }
      if (!this.models.has(null)) {
        try {
          this.models.set(null, await this.loadFile(defaultModelPath(), 'shipped default'));
        } catch (err) {
          this.log.warn(
            { err: toDrError(err) },
            'the shipped model does not fit the configured measurements',
          );
        }
      }
    }
    const calibrated = [...savedCalibrations(workDir).keys()].some((a) => this.models.has(a));
    if (this.config.calibration.onStart && !calibrated) {
      this.quietUntilCalibrated = true;
      this.startCalibration(null, 'first start');
    } else if (!this.models.has(null)) {
      this.log.error(
        'no model for these measurements: set modelPath, or calibration.onStart, or send a recalibrate command',
      );
    }
  }

  private startCalibration(asset: string | null, reason: string): void {
    const key = this.config.calibration.perAsset ? asset : null;
    this.calibrations.set(key, { windows: [], reason, startedAtMs: this.deps.clock.nowMs() });
    this.log.info(
      { asset: key ?? 'all', windows: this.config.calibration.windows, reason },
      'calibration started: learning normal operation',
    );
  }

  /** Fits, exports, validates against the TypeScript reference, saves and swaps in a calibrated model. */
  private async finishCalibration(key: string | null, cal: Calibration): Promise<void> {
    const started = performance.now();
    const fit = fitPca(this.features, cal.windows, this.config.calibration.fit);
    const nowMs = this.deps.clock.nowMs();
    const info: ModelInfo = {
      modelId: `calibrated-${key ?? 'all'}`,
      version: String(nowMs),
      features: this.features,
      threshold: 1,
      origin: `calibration on ${this.deps.runtime.thingName} (${cal.reason}), ${cal.windows.length} windows`,
      createdAtMs: nowMs,
      limits: { t2: fit.t2Limit, q: fit.qLimit, components: fit.eigenvalues.length, alpha: fit.alpha },
    };
    const onnx = pcaToOnnx(fit, info);
    const model = await OnnxAnomalyModel.load(onnx, info, this.features);
    // The exported graph must compute what the fit says, on the very windows it learnt from.
    const check = cal.windows.slice(0, 256);
    const out = await model.score(check);
    const worst = check.reduce((w, x, i) => {
      const ref = scorePca(fit, x).score;
      return Math.max(w, Math.abs(out.score[i]! - ref) / Math.max(1, Math.abs(ref)));
    }, 0);
    if (!(worst <= 1e-4)) {
      await model.release();
      this.counters.refusedModels += 1;
      this.log.error(
        { asset: key ?? 'all', worst },
        'calibrated model refused: ONNX scores differ from the fit',
      );
      return;
    }
    const path = calibratedModelPath(this.deps.runtime.workDir, key);
    writeModelFile(path, onnx, info);
    const old = this.models.get(key);
    this.models.set(key, model);
    if (old !== undefined && ![...this.models.values()].includes(old)) await old.release();
    this.counters.calibrations += 1;
    if (key === null) this.quietUntilCalibrated = false;
    this.log.info(
      {
        asset: key ?? 'all',
        modelId: info.modelId,
        version: info.version,
        t2Limit: fit.t2Limit,
        qLimit: fit.qLimit,
        components: fit.eigenvalues.length,
        explainedVariance: fit.explainedVariance,
        windows: cal.windows.length,
        fitMs: Math.round(performance.now() - started),
        path,
      },
      'model calibrated and swapped in',
    );
  }

  private modelFor(asset: string): OnnxAnomalyModel | undefined {
    return this.models.get(asset) ?? this.models.get(null);
  }

  // ---- windows -----------------------------------------------------------------------------------

  private assetOf(deviceId: string): string {
    for (const [group, devices] of Object.entries(this.config.assetGroups))
      if (devices.includes(deviceId)) return group;
    return deviceId;
  }

  /** The records of one live-batch message; a message that is not one is counted and skipped. */
  private liveRecords(message: LocalMessage): readonly DrRecord[] {
    if (message.kind !== 'binary') {
      this.counters.badLiveMessages += 1;
      return [];
    }
    try {
      return decodeLiveBatch(message.bytes);
    } catch (err) {
      this.counters.badLiveMessages += 1;
      this.log.warn({ err: toDrError(err), topic: message.topic }, 'not a live batch: skipped');
      return [];
    }
  }

  private onLive(message: LocalMessage): void {
    const records = this.liveRecords(message);
    this.counters.liveRecords += records.length;
    const { streams, measurements, window } = this.config;
    for (const r of records) {
      if (r.lane !== 'telemetry' || typeof r.deviceId !== 'string' || typeof r.tsMs !== 'number') continue;
      if (streams.length > 0 && !streams.includes(String(r.stream))) continue;
      const body = r.body as Record<string, unknown> | undefined;
      const values = measurements.map((m) => body?.[m]);
      if (!values.every((v): v is number => typeof v === 'number' && Number.isFinite(v))) {
        this.counters.incompleteReadings += 1;
        continue;
      }
      const asset = this.assetOf(r.deviceId);
      let state = this.assets.get(asset);
      if (state === undefined) {
        if (this.assets.size >= this.config.maxAssets) {
          this.counters.ignoredAssetReadings += 1;
          continue;
        }
        state = {
          rows: [],
          times: [],
          sinceStep: 0,
          filter: new PersistenceFilter({ ...this.config.persistence, threshold: 1 }),
          onset: null,
        };
        this.assets.set(asset, state);
      }
      const lastMs = state.times.at(-1);
      if (lastMs !== undefined && (r.tsMs - lastMs > window.maxGapMs || r.tsMs < lastMs)) {
        state.rows = [];
        state.times = [];
        state.sinceStep = 0;
      }
      state.rows.push(values);
      state.times.push(r.tsMs);
      if (state.rows.length > window.size) {
        state.rows.shift();
        state.times.shift();
      }
      state.sinceStep += 1;
      if (state.rows.length === window.size && state.sinceStep >= window.step) {
        state.sinceStep = 0;
        this.pending.push({
          asset,
          features: windowFeatures(state.rows),
          fromMs: state.times[0]!,
          toMs: r.tsMs,
        });
      }
    }
    if (this.pending.length >= this.config.maxBatch) this.schedule(0);
    else if (this.pending.length > 0) this.schedule(this.config.flushMs);
  }

  private schedule(delayMs: number): void {
    if (delayMs === 0) {
      clearTimeout(this.flushTimer);
      this.flushTimer = undefined;
      this.enqueue(() => this.flush());
      return;
    }
    this.flushTimer ??= setTimeout(() => {
      this.flushTimer = undefined;
      this.enqueue(() => this.flush());
    }, delayMs);
  }

  /** Flushes, calibrations and swaps run one at a time, so a swap never meets a call in progress. */
  private enqueue(task: () => Promise<void>): void {
    this.chain = this.chain
      .then(task)
      .catch((err: unknown) => this.log.error({ err: toDrError(err) }, 'fault in inference'));
  }

  private async flush(): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0, this.config.maxBatch);
      // One call per model: with one model for all assets, windows of every asset share the call.
      const byModel = new Map<OnnxAnomalyModel | undefined, Window[]>();
      for (const w of batch) {
        const m = this.modelFor(w.asset);
        const list = byModel.get(m);
        if (list === undefined) byModel.set(m, [w]);
        else list.push(w);
      }
      for (const [model, windows] of byModel) {
        this.collectForCalibration(windows);
        if (model === undefined) continue;
        let scores;
        try {
          const started = performance.now();
          scores = await model.score(windows.map((w) => w.features));
          this.counters.lastCallMs = performance.now() - started;
          this.counters.inferenceCalls += 1;
          this.counters.windowsScored += windows.length;
        } catch (err) {
          this.counters.failedWindows += windows.length;
          this.log.error({ err: toDrError(err), windows: windows.length }, 'inference call failed');
          continue;
        }
        const f = this.features.length;
        windows.forEach((w, i) =>
          this.judge(w, scores.score[i]!, scores.contributions.subarray(i * f, (i + 1) * f), model.info),
        );
      }
      await this.finishDueCalibrations();
    }
  }

  private collectForCalibration(windows: readonly Window[]): void {
    for (const w of windows) {
      const cal = this.calibrations.get(this.config.calibration.perAsset ? w.asset : null);
      if (cal !== undefined && cal.windows.length < this.config.calibration.windows)
        cal.windows.push(w.features);
    }
  }

  private async finishDueCalibrations(): Promise<void> {
    for (const [key, cal] of this.calibrations) {
      if (cal.windows.length < this.config.calibration.windows) continue;
      this.calibrations.delete(key);
      try {
        await this.finishCalibration(key, cal);
      } catch (err) {
        this.counters.refusedModels += 1;
        this.log.error(
          { err: toDrError(err), asset: key ?? 'all' },
          'calibration failed; the previous model stays',
        );
      }
    }
  }

  private judge(w: Window, score: number, contributions: Float32Array, info: ModelInfo): void {
    const state = this.assets.get(w.asset);
    if (state === undefined || this.quietUntilCalibrated) return;
    const transition = state.filter.push(score / info.threshold);
    if (transition === null) return;
    const total = contributions.reduce((a, b) => a + Math.max(0, b), 0);
    const contributors = [...contributions]
      .map((c, j) => ({ feature: this.features[j]!, share: total > 0 ? Math.max(0, c) / total : 0 }))
      .sort((a, b) => b.share - a.share)
      .slice(0, TOP_CONTRIBUTORS)
      .map((c) => ({ ...c, share: Math.round(c.share * 1000) / 1000 }));
    const event: Record<string, unknown> = {
      type: 'anomaly',
      state: transition,
      asset: w.asset,
      deviceId: w.asset,
      atMs: w.toMs,
      score,
      threshold: info.threshold,
      model: { id: info.modelId, version: info.version },
      window: { fromMs: w.fromMs, toMs: w.toMs },
      contributors,
    };
    if (transition === 'onset') {
      this.counters.onsets += 1;
      state.onset = { atMs: w.toMs, score };
    } else {
      this.counters.recoveries += 1;
      event['onsetAtMs'] = state.onset?.atMs ?? null;
      event['durationMs'] = state.onset === null ? null : w.toMs - state.onset.atMs;
      event['peakScore'] = state.filter.peak * info.threshold;
      state.onset = null;
    }
    this.log.warn(
      {
        asset: w.asset,
        state: transition,
        score,
        threshold: info.threshold,
        modelId: info.modelId,
        contributors,
      },
      transition === 'onset' ? 'anomaly onset' : 'anomaly recovery',
    );
    for (const topic of [this.config.alertTopic, this.config.anomalyTopic])
      publishDocument(this.deps.runtime, topic, event).catch((err: unknown) =>
        this.log.error({ err: toDrError(err), topic }, 'anomaly event not published'),
      );
  }

  // ---- commands, metrics, configuration ----------------------------------------------------------

  private onCommand(message: LocalMessage): void {
    const cmd: { type?: unknown; asset?: unknown; id?: unknown } = readObject(message) ?? {};
    if (cmd.type !== 'recalibrate') {
      this.log.warn({ topic: message.topic }, 'ignoring an unknown command');
      return;
    }
    const asset = typeof cmd.asset === 'string' ? cmd.asset : null;
    this.startCalibration(asset, `command ${typeof cmd.id === 'string' ? cmd.id : '(no id)'}`);
  }

  metrics(): Record<string, unknown> {
    return {
      ...this.counters,
      assets: this.assets.size,
      activeAlarms: [...this.assets].filter(([, s]) => s.filter.active).map(([a]) => a),
      models: Object.fromEntries(
        [...this.models].map(([asset, m]) => [
          asset ?? 'all',
          { id: m.info.modelId, version: m.info.version },
        ]),
      ),
      calibrating: Object.fromEntries(
        [...this.calibrations].map(([asset, c]) => [
          asset ?? 'all',
          `${c.windows.length}/${this.config.calibration.windows}`,
        ]),
      ),
      quietUntilCalibrated: this.quietUntilCalibrated,
      memory: memoryMb(),
      configuration: this.deps.configurationStatus,
    };
  }

  private async publishMetrics(): Promise<void> {
    await publishDocument(this.deps.runtime, this.config.metricsTopic, this.metrics()).catch((err: unknown) =>
      this.log.debug({ err: String(err) }, 'metrics not published'),
    );
  }

  async applyConfig(config: InferenceConfig): Promise<void> {
    const previous = this.config;
    this.config = config;
    if (config.modelPath !== previous.modelPath && config.modelPath !== null) {
      const path = config.modelPath;
      await new Promise<void>((resolve) =>
        this.enqueue(async () => {
          try {
            const model = await this.loadFile(path, 'configured');
            const old = this.models.get(null);
            this.models.set(null, model);
            if (old !== undefined && ![...this.models.values()].includes(old)) await old.release();
          } catch (err) {
            this.counters.refusedModels += 1;
            this.log.error(
              { err: toDrError(err), path },
              'configured model refused; the previous model stays',
            );
          }
          resolve();
        }),
      );
    }
    const structural = (c: InferenceConfig) =>
      JSON.stringify([
        c.measurements,
        c.window,
        c.assetGroups,
        c.liveTopic,
        c.commandsTopic,
        c.calibration.perAsset,
      ]);
    if (structural(config) !== structural(previous))
      this.log.warn('measurements, windows, assets or topics changed: they take effect at the next start');
  }

  async stop(): Promise<void> {
    this.abort.abort();
    clearTimeout(this.flushTimer);
    await Promise.all(this.loops);
    await Promise.all(this.subscriptions.map((s) => s.close().catch(() => undefined)));
    this.enqueue(() => this.flush());
    await this.chain;
    await Promise.all([...new Set(this.models.values())].map((m) => m.release()));
  }
}
