import { isAbsolute, join } from 'node:path';
import { publishDocument, readDocument } from '../../../shared/src/messages/documents';
import { reportStoreEvent } from '../../../shared/src/store/event-report';
import type { ComponentDeps, RunningService } from '../../../shared/src/component/run';
import { periodic } from '../../../shared/src/component/periodic';
import { isDrError, toDrError, type DrError } from '../../../shared/src/errors';
import type { Subscription } from '../../../shared/src/runtime/port';
import { SqliteRecordStore, type LostEpochAccount, type StoreEvent } from '../../../shared/src/store';
import { CloudWatchTranslator } from './cloudwatch';
import { BUFFER_COMPONENT, type BufferConfig } from './config';

/** Between maintenance rounds with work left: room for the other processes' writes. */
const MAINTENANCE_PAUSE_MS = 20;

/**
 * Owns the store: opens and migrates it, checks its integrity (quarantining a damaged file), enforces
 * the quota with gap markers, checkpoints the WAL, and publishes metrics.
 */
export class BufferService implements RunningService<BufferConfig> {
  private store: SqliteRecordStore;
  private config: Readonly<BufferConfig>;
  private readonly abort = new AbortController();
  private readonly loops: Promise<void>[];
  private cloudwatch: {
    translator: CloudWatchTranslator;
    subscriptions: Subscription[];
    key: string;
  } | null = null;

  constructor(private readonly deps: ComponentDeps<BufferConfig>) {
    this.config = deps.config;
    this.store = this.open(deps.config);
    const signal = this.abort.signal;
    this.loops = [
      periodic(
        deps.clock,
        () => this.config.maintenanceIntervalMs,
        () => this.maintain(),
        signal,
      ),
      periodic(
        deps.clock,
        () => this.config.metricsIntervalMs,
        () => this.publishMetrics(),
        signal,
      ),
      periodic(
        deps.clock,
        () => this.config.cloudwatch.intervalMs,
        () => this.publishCloudWatch(),
        signal,
      ),
    ];
  }

  /** Starts, restarts or stops the CloudWatch translation to match the configuration. */
  async configureCloudWatch(config: Readonly<BufferConfig>): Promise<void> {
    const c = config.cloudwatch;
    const key = JSON.stringify(c);
    if (this.cloudwatch?.key === key) return;
    const old = this.cloudwatch;
    this.cloudwatch = null;
    await Promise.all((old?.subscriptions ?? []).map((s) => s.close().catch(() => undefined)));
    if (!c.enabled) return;
    const translator = new CloudWatchTranslator(c.namespace, this.deps.runtime.thingName);
    const subscriptions = await Promise.all([
      this.deps.runtime.subscribe(c.replayStatusTopic, (m) => translator.onReplayStatus(readDocument(m))),
      this.deps.runtime.subscribe(c.alertTopic, (m) => translator.onAnomaly(readDocument(m))),
    ]);
    this.cloudwatch = { translator, subscriptions, key };
    this.deps.logger.info(
      { topic: c.topic, namespace: c.namespace, intervalMs: c.intervalMs },
      'CloudWatch metrics on: one request per metric to the aws.greengrass.Cloudwatch component',
    );
  }

  private async publishCloudWatch(): Promise<void> {
    const cw = this.cloudwatch;
    if (cw === null) return;
    let metrics = null;
    try {
      metrics = this.store.metrics();
    } catch (err) {
      this.deps.logger.warn({ err: toDrError(err) }, 'store metrics unavailable for CloudWatch');
    }
    for (const request of cw.translator.requests(metrics, this.deps.clock.nowMs())) {
      try {
        await this.deps.runtime.publishJson(this.config.cloudwatch.topic, request);
      } catch (err) {
        this.deps.logger.warn(
          { err: toDrError(err), topic: this.config.cloudwatch.topic },
          'CloudWatch metric not published',
        );
        return;
      }
    }
  }

  storePath(config: Readonly<BufferConfig>): string {
    return isAbsolute(config.storePath)
      ? config.storePath
      : join(this.deps.runtime.workDir, config.storePath);
  }

  private open(config: Readonly<BufferConfig>, lostEpoch?: LostEpochAccount): SqliteRecordStore {
    const path = this.storePath(config);
    const store = SqliteRecordStore.open({
      path,
      gatewayId: this.deps.runtime.thingName,
      settings: config.store,
      onCorrupt: 'quarantine',
      clock: this.deps.clock,
      onEvent: (event) => this.onStoreEvent(event),
      ...(lostEpoch === undefined ? {} : { lostEpoch }),
    });
    this.deps.logger.info({ path, epoch: store.epoch, pragmas: store.pragmas() }, 'store open');
    return store;
  }

  private onStoreEvent(event: StoreEvent): void {
    reportStoreEvent(this.deps, this.config.eventsTopic, BUFFER_COMPONENT, event);
  }

  /**
   * Maintenance rounds (quota, compaction, checkpoint, vacuum, a slice of the integrity check) while
   * work remains, up to one interval's worth, with a pause between rounds so that Ingest's appends
   * and Replay's acks get the write lock in between: each round's transactions are short.
   */
  private async maintain(): Promise<void> {
    const deadline = this.deps.clock.monotonicMs() + this.config.maintenanceIntervalMs;
    for (;;) {
      let more = false;
      try {
        const report = this.store.maintain();
        if (report.busy) this.deps.logger.debug('WAL checkpoint deferred: readers are active');
        more = report.more;
      } catch (err) {
        this.onMaintenanceFault(toDrError(err));
        return;
      }
      if (!more || this.abort.signal.aborted || this.deps.clock.monotonicMs() >= deadline) return;
      try {
        await this.deps.clock.sleep(MAINTENANCE_PAUSE_MS, this.abort.signal);
      } catch {
        return; // stopping
      }
    }
  }

  private onMaintenanceFault(e: DrError): void {
    if (isDrError(e, 'STORE_CORRUPT')) {
      // Damaged under us (disk fault, or a file overwritten): reopen, which quarantines and recreates.
      this.deps.logger.error({ err: e }, 'store damaged while running: reopening');
      this.store.close();
      this.store = this.open(this.config);
      return;
    }
    if (isDrError(e, 'STORE_REPLACED')) {
      // The data file was deleted or replaced: the epoch this handle holds is over. What it still held
      // is named in the fresh store's gap marker.
      let account: LostEpochAccount | undefined;
      try {
        account = this.store.undeliveredAccount();
      } catch (err) {
        this.deps.logger.warn({ err: toDrError(err) }, 'could not account for the lost store');
      }
      this.store.close();
      this.store = this.open(this.config, account);
      return;
    }
    this.deps.logger.warn({ err: e }, 'store maintenance failed; will retry');
  }

  private async publishMetrics(): Promise<void> {
    try {
      const metrics = this.store.metrics();
      await publishDocument(this.deps.runtime, this.config.metricsTopic, {
        component: BUFFER_COMPONENT,
        atMs: this.deps.clock.nowMs(),
        storeEpoch: this.store.epoch,
        ...metrics,
        configuration: this.deps.configurationStatus,
      });
    } catch (err) {
      const e = toDrError(err);
      // Noticed here too when maintenance rounds are far apart.
      if (isDrError(e, 'STORE_REPLACED') || isDrError(e, 'STORE_CORRUPT')) this.onMaintenanceFault(e);
      else this.deps.logger.warn({ err: e }, 'could not publish store metrics');
    }
  }

  async applyConfig(config: Readonly<BufferConfig>): Promise<void> {
    const reopen =
      this.storePath(config) !== this.storePath(this.config) ||
      JSON.stringify(config.store) !== JSON.stringify(this.config.store);
    this.config = config;
    await this.configureCloudWatch(config);
    if (reopen) {
      this.store.close();
      this.store = this.open(config);
    }
    await this.publishMetrics();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await Promise.all(this.loops);
    await Promise.all((this.cloudwatch?.subscriptions ?? []).map((s) => s.close().catch(() => undefined)));
    this.store.close();
  }
}

export async function startBuffer(deps: ComponentDeps<BufferConfig>): Promise<BufferService> {
  const service = new BufferService(deps);
  try {
    await service.configureCloudWatch(deps.config);
  } catch (err) {
    await service.stop();
    throw err;
  }
  return service;
}
