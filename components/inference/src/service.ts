import type { ComponentDeps, RunningService } from '../../../shared/src/component/run';
import { periodic } from '../../../shared/src/component/periodic';
import { toDrError } from '../../../shared/src/errors';
import { publishDocument, readObject } from '../../../shared/src/messages/documents';
import type { LocalMessage, Subscription } from '../../../shared/src/runtime/port';
import { calibrate } from './calibrator';
import type { InferenceConfig } from './config';
import {
  firstCalibration,
  initialState,
  step,
  type CoreInput,
  type CorePolicy,
  type Effect,
  type InferenceState,
  type PendingWindow,
} from './core/inference';
import { liveRecords } from './live-batch';
import { metricsOf } from './metrics';
import { ModelRegistry } from './model-registry';
import { corePolicy, preprocessingOf } from './policy';

/**
 * Inference, the shell: it feeds the core (`core/inference.ts`) with live batches, commands, scores and
 * models, and runs the effects the core returns: onnxruntime calls, calibrations (fit, export, verify,
 * save, hot swap), events on the alert topics, logs and the flush timer. Scoring calls and calibrations
 * run one at a time on one chain, so a swap never meets a call in progress and no window is dropped.
 * Everything is local: it keeps working with every region down.
 */
export class InferenceService implements RunningService<InferenceConfig> {
  private config: InferenceConfig;
  private readonly policy: CorePolicy;
  private readonly models: ModelRegistry;
  private state: InferenceState;
  private flushTimer: NodeJS.Timeout | undefined;
  private chain: Promise<void> = Promise.resolve();
  private readonly subscriptions: Subscription[] = [];
  private readonly abort = new AbortController();
  private readonly loops: Promise<void>[] = [];
  private lastCallMs = 0;
  /** Messages on the live topic that were not live batches, and committed records received. */
  private live = { badLiveMessages: 0, liveRecords: 0 };

  static async start(deps: ComponentDeps<InferenceConfig>): Promise<InferenceService> {
    const service = new InferenceService(deps);
    const loaded = await service.models.loadAtStart(deps.config.modelPath);
    service.state = initialState(service.models.infos());
    for (let i = 0; i < loaded.refused; i++) service.apply({ kind: 'model-refused', key: null });
    if (deps.config.calibration.onStart && !loaded.calibrated)
      service.run(firstCalibration(service.state, service.policy, deps.clock.nowMs()));
    else if (!service.models.has(null))
      service.log.error(
        'no model for these measurements: set modelPath, or calibration.onStart, or send a recalibrate command',
      );
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
    this.policy = corePolicy(deps.config);
    this.models = new ModelRegistry(
      this.policy.features,
      preprocessingOf(deps.config),
      deps.runtime.workDir,
      deps.logger,
    );
    this.state = initialState(new Map());
  }

  private get log() {
    return this.deps.logger;
  }

  // ---- the core and its effects ------------------------------------------------------------------

  private apply(input: CoreInput): void {
    this.run(step(this.state, this.policy, input, this.deps.clock.nowMs()));
  }

  private run(next: { state: InferenceState; effects: readonly Effect[] }): void {
    this.state = next.state;
    for (const e of next.effects) this.effect(e);
  }

  private effect(e: Effect): void {
    switch (e.kind) {
      case 'log':
        this.log[e.level](e.fields, e.message);
        return;
      case 'publish':
        for (const topic of [this.config.alertTopic, this.config.anomalyTopic])
          publishDocument(this.deps.runtime, topic, e.event).catch((err: unknown) =>
            this.log.error({ err: toDrError(err), topic }, 'anomaly event not published'),
          );
        return;
      case 'schedule-flush':
        this.schedule(e.delayMs);
        return;
      case 'score':
        this.enqueue(() => this.score(e.key, e.windows));
        return;
      case 'fit':
        this.enqueue(() => this.fit(e));
        return;
    }
  }

  private onLive(message: LocalMessage): void {
    const records = liveRecords(message);
    if (records === null) {
      this.live.badLiveMessages += 1;
      this.log.warn({ topic: message.topic }, 'not a live batch: skipped');
      return;
    }
    this.live.liveRecords += records.length;
    if (records.length > 0) this.apply({ kind: 'records', records });
  }

  private schedule(delayMs: number): void {
    if (delayMs === 0) {
      clearTimeout(this.flushTimer);
      this.flushTimer = undefined;
      this.apply({ kind: 'flush' });
      return;
    }
    this.flushTimer ??= setTimeout(() => {
      this.flushTimer = undefined;
      this.apply({ kind: 'flush' });
    }, delayMs);
  }

  /** Scoring calls and calibrations run one at a time, in the order the core asked for them. */
  private enqueue(task: () => Promise<void>): void {
    this.chain = this.chain
      .then(task)
      .catch((err: unknown) => this.log.error({ err: toDrError(err) }, 'fault in inference'));
  }

  private async score(key: string | null, windows: readonly PendingWindow[]): Promise<void> {
    const model = this.models.get(key);
    if (model === undefined) {
      this.apply({ kind: 'score-failed', windows: windows.length });
      return;
    }
    try {
      const started = performance.now();
      const out = await model.score(windows.map((w) => w.features));
      this.lastCallMs = performance.now() - started;
      this.apply({
        kind: 'scored',
        info: model.info,
        windows,
        score: out.score,
        contributions: out.contributions,
      });
    } catch (err) {
      this.apply({ kind: 'score-failed', windows: windows.length });
      this.log.error({ err: toDrError(err), windows: windows.length }, 'inference call failed');
    }
  }

  /** Fits, exports, validates against the TypeScript reference, saves and swaps in a calibrated model. */
  private async fit(e: Extract<Effect, { kind: 'fit' }>): Promise<void> {
    const nowMs = this.deps.clock.nowMs();
    const asset = e.key ?? 'all';
    try {
      const c = await calibrate(
        e.windows,
        {
          features: this.policy.features,
          fit: this.config.calibration.fit,
          preprocessing: preprocessingOf(this.config),
        },
        {
          modelId: `calibrated-${asset}`,
          version: String(nowMs),
          origin: `calibration on ${this.deps.runtime.thingName} (${e.reason}), ${e.windows.length} windows of ${e.assets} asset(s)`,
          createdAtMs: nowMs,
        },
      );
      const path = this.models.save(e.key, c.onnx, c.info);
      await this.models.swap(e.key, c.model);
      this.apply({ kind: 'model', key: e.key, info: c.info, calibrated: true });
      this.log.info(
        {
          asset,
          modelId: c.info.modelId,
          version: c.info.version,
          t2Limit: c.fit.t2Limit,
          qLimit: c.fit.qLimit,
          components: c.fit.eigenvalues.length,
          explainedVariance: c.fit.explainedVariance,
          windows: e.windows.length,
          fitMs: Math.round(c.fitMs),
          path,
        },
        'model calibrated and swapped in',
      );
      this.effect({
        kind: 'publish',
        event: {
          type: 'calibration',
          state: 'done',
          asset,
          atMs: nowMs,
          model: { id: c.info.modelId, version: c.info.version },
          windows: e.windows.length,
        },
      });
    } catch (err) {
      this.apply({ kind: 'model-refused', key: e.key });
      this.log.error({ err: toDrError(err), asset }, 'calibration failed; the previous model stays');
    }
  }

  // ---- commands, metrics, configuration ----------------------------------------------------------

  private onCommand(message: LocalMessage): void {
    const cmd: { type?: unknown; asset?: unknown; id?: unknown } = readObject(message) ?? {};
    if (cmd.type !== 'recalibrate') {
      this.log.warn({ topic: message.topic }, 'ignoring an unknown command');
      return;
    }
    this.apply({
      kind: 'recalibrate',
      asset: typeof cmd.asset === 'string' ? cmd.asset : null,
      reason: `command ${typeof cmd.id === 'string' ? cmd.id : '(no id)'}`,
    });
  }

  metrics(): Record<string, unknown> {
    return {
      ...metricsOf(this.state, this.config, this.lastCallMs),
      ...this.live,
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
            const model = await this.models.loadFile(path, 'configured');
            await this.models.swap(null, model);
            this.apply({ kind: 'model', key: null, info: model.info, calibrated: false });
          } catch (err) {
            this.apply({ kind: 'model-refused', key: null });
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
        c.detrend,
        c.persistence,
        c.adaptation,
        c.assetGroups,
        c.liveTopic,
        c.commandsTopic,
        c.calibration,
        c.maxBatch,
        c.flushMs,
        c.maxAssets,
      ]);
    if (structural(config) !== structural(previous))
      this.log.warn(
        'measurements, windows, episodes, calibration, assets or topics changed: they take effect at the next start',
      );
  }

  async stop(): Promise<void> {
    this.abort.abort();
    clearTimeout(this.flushTimer);
    await Promise.all(this.loops);
    await Promise.all(this.subscriptions.map((s) => s.close().catch(() => undefined)));
    this.apply({ kind: 'flush' });
    await this.chain;
    await this.models.releaseAll();
  }
}
