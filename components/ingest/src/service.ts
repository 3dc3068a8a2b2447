import type { ComponentDeps, RunningService } from '../../../shared/src/component/run';
import { periodic } from '../../../shared/src/component/periodic';
import { toDrError } from '../../../shared/src/errors';
import { publishDocument, readObject } from '../../../shared/src/messages/documents';
import { encodeLiveBatch } from '../../../shared/src/messages/live-batch';
import type { DrRecord, JsonObject, NewRecord } from '../../../shared/src/record';
import type { LocalMessage, Subscription } from '../../../shared/src/runtime/port';
import { GroupCommitWriter, type DeadLetterInput } from '../../../shared/src/store';
import { sharedStoreLocation } from '../../../shared/src/store/location';
import { INGEST_COMPONENT, type IngestConfig } from './config';
import { createMapper, type RejectReason } from './core/mapper';
import { FollowingStore } from '../../../shared/src/store/following-store';
import { reportStoreEvent } from '../../../shared/src/store/event-report';
import type * as MqttSourceModule from './mqtt-source';
import type { MqttSource, Settle } from './mqtt-source';
import { RateLimitedLog } from './rate-limited-log';

type DropReason = RejectReason | 'overload' | 'store_rejected' | 'bad_anomaly';

interface Counters {
  accepted: number;
  anomalies: number;
  rejected: Partial<Record<DropReason, number>>;
  batches: number;
  lastCommitMs: number;
  maxCommitMs: number;
  /** Readings the store could not take and that are not retried (it is closed or damaged): logged and counted. */
  storeFailures: number;
  /** Commits retried because the store was busy, full or briefly unavailable: waited out, nothing dropped. */
  storeRetries: number;
  /** Live-batch messages the nucleus refused (stored records Inference did not see). */
  liveBatchFailures: number;
}

const COMMIT_WINDOW = 512;
/**
 * Ingest waits for the store's lock in short slices and retries asynchronously with backoff, so its event
 * loop keeps running (and readings keep being queued) while another process holds the lock.
 */
const INGEST_BUSY_SLICE_MS = 50;

const NOTHING: Settle = () => undefined;

/**
 * The only door into the store for data: readings from local topics (and optionally a local MQTT
 * broker) are mapped and validated, appended with group commit, and each committed batch is published
 * for Inference. Bad input goes to the dead-letter table with its reason; nothing is dropped silently.
 */
export class IngestService implements RunningService<IngestConfig> {
  private config: Readonly<IngestConfig>;
  private mapper: ReturnType<typeof createMapper>;
  private readonly store: FollowingStore;
  private readonly writer: GroupCommitWriter;
  private readonly rejectLog: RateLimitedLog;
  private pendingDeadLetters: { entry: DeadLetterInput; settle: Settle }[] = [];
  private deadLetterTimer: NodeJS.Timeout | undefined;
  private subscriptions: Subscription[] = [];
  private mqtt: MqttSource | undefined;
  private readonly abort = new AbortController();
  private readonly loops: Promise<void>[] = [];
  private readonly commitTimes: number[] = [];
  private readonly counters: Counters = {
    accepted: 0,
    anomalies: 0,
    rejected: {},
    batches: 0,
    lastCommitMs: 0,
    maxCommitMs: 0,
    storeFailures: 0,
    storeRetries: 0,
    liveBatchFailures: 0,
  };

  static async start(deps: ComponentDeps<IngestConfig>): Promise<IngestService> {
    const location = await sharedStoreLocation(deps.runtime);
    const store = new FollowingStore(
      {
        ...location,
        settings: {
          ...location.settings,
          busyTimeoutMs: Math.min(location.settings.busyTimeoutMs, INGEST_BUSY_SLICE_MS),
        },
      },
      deps.runtime.thingName,
      deps.logger,
      // Evictions that Ingest's own appends ran (over the quota, or the disk full): reported once, here.
      (event) => reportStoreEvent(deps, location.eventsTopic, INGEST_COMPONENT, event),
    );
    const service = new IngestService(deps, store);
    deps.logger.info({ path: location.path }, 'store open');
    await service.subscribe();
    return service;
  }

  private constructor(
    private readonly deps: ComponentDeps<IngestConfig>,
    store: FollowingStore,
  ) {
    this.config = deps.config;
    this.store = store;
    this.mapper = this.makeMapper(deps.config);
    this.rejectLog = new RateLimitedLog(deps.logger, deps.config.rejectLogIntervalMs);
    // A busy, full or not-yet-available store is waited out (with backpressure on the MQTT source),
    // never a reason to drop a reading.
    this.writer = new GroupCommitWriter(store, {
      flushIntervalMs: deps.config.flushIntervalMs,
      maxBatchRecords: deps.config.maxBatchRecords,
      maxRetries: Number.POSITIVE_INFINITY,
      // A damaged store is the owner's to quarantine and recreate: wait for it like for a busy one.
      shouldRetry: (err) => err.retryable || err.code === 'STORE_CORRUPT',
      retryBaseMs: 50,
      retryMaxMs: 2_000,
      clock: deps.clock,
      onCommit: (c) => this.onCommit(c.records, c.result.ids, c.commitMs),
      onRetry: (err) => {
        this.counters.storeRetries += 1;
        this.rejectLog.warn(
          `retry:${err.code}`,
          this.deps.clock.nowMs(),
          { code: err.code },
          'the store cannot take a commit now: retrying',
        );
      },
    });
    this.loops.push(
      periodic(
        deps.clock,
        () => this.config.metricsIntervalMs,
        () => this.publishMetrics(),
        this.abort.signal,
      ),
    );
  }

  private makeMapper(config: Readonly<IngestConfig>): ReturnType<typeof createMapper> {
    return createMapper({
      mapping: config.mapping,
      maxPayloadBytes: config.maxPayloadBytes,
      ...(config.allowedDevices === undefined ? {} : { allowedDevices: new Set(config.allowedDevices) }),
    });
  }

  private async subscribe(): Promise<void> {
    const { runtime } = this.deps;
    for (const filter of this.config.sources.ipcTopics) {
      this.subscriptions.push(await runtime.subscribe(filter, (m) => this.onReading(m)));
    }
    this.subscriptions.push(await runtime.subscribe(this.config.anomalyTopic, (m) => this.onAnomaly(m)));
    const mqttConfig = this.config.sources.mqtt;
    if (mqttConfig !== undefined) {
      // Loaded only when configured: mqtt.js and its dependencies cost a few MB of heap at load.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { MqttSource } = require('./mqtt-source') as typeof MqttSourceModule;
      this.mqtt = new MqttSource(
        mqttConfig,
        (topic, payload, settle) => this.ingest(topic, payload, settle, 'mqtt'),
        this.deps.logger,
        () => this.writer.flushSoon(),
      );
      this.mqtt.start();
    }
  }

  private async unsubscribe(): Promise<void> {
    await Promise.all(this.subscriptions.map((s) => s.close().catch(() => undefined)));
    this.subscriptions = [];
    await this.mqtt?.stop();
    this.mqtt = undefined;
  }

  private onReading(message: LocalMessage): void {
    const payload = message.kind === 'binary' ? message.bytes : message.json;
    this.ingest(message.topic, payload);
  }

  /**
   * Maps and queues one reading; `settle` hears whether it was kept (committed or dead-lettered). Public
   * for the other sources (local MQTT) and the benchmark. Readings from the MQTT source are never refused
   * as overload: the broker holds what we have not acknowledged, so they are bounded by its window.
   */
  ingest(topic: string, payload: unknown, settle: Settle = NOTHING, source: 'ipc' | 'mqtt' = 'ipc'): void {
    const nowMs = this.deps.clock.nowMs();
    if (source === 'ipc' && this.writer.waitingRecords >= this.config.maxQueuedRecords) {
      this.drop(
        'overload',
        topic,
        payload,
        `more than ${this.config.maxQueuedRecords} records wait for a commit`,
      );
      settle('not-kept');
      return;
    }
    const result = this.mapper(topic, payload, nowMs);
    if (!result.ok) {
      this.drop(result.reason, topic, payload, result.detail, settle);
      return;
    }
    this.append(result.record, topic, payload, settle);
  }

  private append(record: NewRecord, topic: string, payload: unknown, settle: Settle = NOTHING): void {
    this.writer.append([record]).then(
      () => settle('kept'),
      (err: unknown) => {
        const e = toDrError(err);
        if (e.code === 'RECORD_INVALID' || e.code === 'RECORD_TOO_LARGE') {
          this.drop('store_rejected', topic, payload, e.message, settle);
          return;
        }
        this.counters.storeFailures += 1;
        settle('not-kept');
        this.rejectLog.warn(
          `store:${e.code}`,
          this.deps.clock.nowMs(),
          { code: e.code, topic },
          'the store refused a commit and it is not retried',
        );
      },
    );
  }

  /** Anomaly events from Inference (documents) go to the alert lane, so they reach the cloud first. */
  private onAnomaly(message: LocalMessage): void {
    const event = readObject(message);
    const e = event as { asset?: unknown; deviceId?: unknown; atMs?: unknown } | undefined;
    const deviceId =
      typeof e?.deviceId === 'string' ? e.deviceId : typeof e?.asset === 'string' ? e.asset : undefined;
    if (event === undefined || deviceId === undefined) {
      this.drop(
        'bad_anomaly',
        message.topic,
        message.kind === 'json' ? message.json : message.bytes,
        'an anomaly event needs an asset or deviceId',
      );
      return;
    }
    const tsMs =
      typeof e?.atMs === 'number' && Number.isSafeInteger(e.atMs) ? e.atMs : this.deps.clock.nowMs();
    this.counters.anomalies += 1;
    this.append(
      { stream: 'anomaly', lane: 'alert', deviceId, tsMs, body: event as JsonObject },
      message.topic,
      event,
    );
  }

  private drop(
    reason: DropReason,
    topic: string,
    payload: unknown,
    detail: string,
    settle: Settle = NOTHING,
  ): void {
    this.counters.rejected[reason] = (this.counters.rejected[reason] ?? 0) + 1;
    const raw = Buffer.isBuffer(payload) ? payload : Buffer.from(JSON.stringify(payload) ?? String(payload));
    this.rejectLog.warn(
      reason,
      this.deps.clock.nowMs(),
      { topic, detail, bytes: raw.length },
      'reading rejected',
    );
    if (reason === 'overload') return; // the store is the bottleneck: counted and logged, not written
    this.pendingDeadLetters.push({ entry: { source: topic, reason, detail, raw }, settle });
    this.deadLetterTimer ??= setTimeout(() => this.flushDeadLetters(), this.config.flushIntervalMs);
  }

  private flushDeadLetters(): void {
    this.deadLetterTimer = undefined;
    const batch = this.pendingDeadLetters;
    this.pendingDeadLetters = [];
    if (batch.length === 0) return;
    try {
      this.store.deadLetter(batch.map((d) => d.entry));
    } catch (err) {
      const e = toDrError(err);
      if (e.retryable && !this.abort.signal.aborted) {
        // Busy or not yet available: keep them and try again (their sources are not acknowledged meanwhile).
        this.pendingDeadLetters.unshift(...batch);
        this.deadLetterTimer ??= setTimeout(() => this.flushDeadLetters(), 500);
        return;
      }
      this.counters.storeFailures += batch.length;
      this.deps.logger.error({ err: e, count: batch.length }, 'could not write dead letters');
      for (const d of batch) d.settle('not-kept');
      return;
    }
    for (const d of batch) d.settle('kept');
  }

  private onCommit(records: readonly NewRecord[], ids: readonly string[], commitMs: number): void {
    this.counters.batches += 1;
    this.counters.accepted += records.length;
    this.counters.lastCommitMs = commitMs;
    this.counters.maxCommitMs = Math.max(this.counters.maxCommitMs, commitMs);
    this.commitTimes.push(commitMs);
    if (this.commitTimes.length > COMMIT_WINDOW) this.commitTimes.shift();
    // Sent only after the commit, so what Inference sees is durable: as envelopes, each one IPC message.
    const committed: DrRecord[] = records.map((r, i) => ({ ...r, id: ids[i] ?? '' }));
    const topic = this.config.liveTopic;
    for (const message of encodeLiveBatch(topic, this.deps.runtime.thingName, committed)) {
      this.deps.runtime.publishBinary(topic, message).catch((err: unknown) => {
        this.counters.liveBatchFailures += 1;
        this.deps.logger.warn({ err: toDrError(err) }, 'could not publish a live batch');
      });
    }
  }

  metrics(): Record<string, unknown> {
    const sorted = [...this.commitTimes].sort((a, b) => a - b);
    return {
      component: INGEST_COMPONENT,
      atMs: this.deps.clock.nowMs(),
      accepted: this.counters.accepted,
      anomalies: this.counters.anomalies,
      rejected: { ...this.counters.rejected },
      batches: this.counters.batches,
      ...(this.mqtt === undefined ? {} : { mqtt: this.mqtt.status() }),
      waitingRecords: this.writer.waitingRecords,
      storeFailures: this.counters.storeFailures,
      storeRetries: this.counters.storeRetries,
      liveBatchFailures: this.counters.liveBatchFailures,
      configuration: this.deps.configurationStatus,
      commitMs: {
        last: this.counters.lastCommitMs,
        max: this.counters.maxCommitMs,
        p50: sorted[Math.floor(sorted.length * 0.5)] ?? 0,
        p99: sorted[Math.floor(sorted.length * 0.99)] ?? 0,
      },
    };
  }

  private async publishMetrics(): Promise<void> {
    try {
      await publishDocument(this.deps.runtime, this.config.metricsTopic, this.metrics());
    } catch (err) {
      this.deps.logger.warn({ err: toDrError(err) }, 'could not publish ingest metrics');
    }
  }

  async applyConfig(config: Readonly<IngestConfig>): Promise<void> {
    const resubscribe =
      JSON.stringify(config.sources) !== JSON.stringify(this.config.sources) ||
      config.anomalyTopic !== this.config.anomalyTopic;
    this.config = config;
    this.mapper = this.makeMapper(config);
    if (resubscribe) {
      await this.unsubscribe();
      await this.subscribe();
    }
  }

  async stop(): Promise<void> {
    // The MQTT source takes nothing more (the broker keeps it); what it took is acknowledged once kept.
    this.mqtt?.pause();
    await Promise.all(this.subscriptions.map((s) => s.close().catch(() => undefined)));
    this.subscriptions = [];
    this.abort.abort();
    await Promise.all(this.loops);
    // What already arrived is committed before exit: a clean stop loses nothing.
    await this.writer.close();
    clearTimeout(this.deadLetterTimer);
    this.flushDeadLetters();
    await this.mqtt?.stop();
    this.mqtt = undefined;
    this.store.close();
  }
}
