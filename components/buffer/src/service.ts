import { isAbsolute, join } from 'node:path';
import { publishDocument } from '../../../shared/src/messages/documents';
import type { ComponentDeps, RunningService } from '../../../shared/src/component/run';
import { periodic } from '../../../shared/src/component/periodic';
import { isDrError, toDrError } from '../../../shared/src/errors';
import { SqliteRecordStore, type StoreEvent } from '../../../shared/src/store';
import { BUFFER_COMPONENT, type BufferConfig } from './config';

/**
 * Owns the store: opens and migrates it, checks its integrity (quarantining a damaged file), enforces
 * the quota with gap markers, checkpoints the WAL, and publishes metrics.
 */
export class BufferService implements RunningService<BufferConfig> {
  private store: SqliteRecordStore;
  private config: Readonly<BufferConfig>;
  private readonly abort = new AbortController();
  private readonly loops: Promise<void>[];

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
    ];
  }

  storePath(config: Readonly<BufferConfig>): string {
    return isAbsolute(config.storePath)
      ? config.storePath
      : join(this.deps.runtime.workDir, config.storePath);
  }

  private open(config: Readonly<BufferConfig>): SqliteRecordStore {
    const path = this.storePath(config);
    const store = SqliteRecordStore.open({
      path,
      gatewayId: this.deps.runtime.thingName,
      settings: config.store,
      onCorrupt: 'quarantine',
      clock: this.deps.clock,
      onEvent: (event) => this.onStoreEvent(event),
    });
    this.deps.logger.info({ path, epoch: store.epoch, pragmas: store.pragmas() }, 'store open');
    return store;
  }

  private onStoreEvent(event: StoreEvent): void {
    const { logger, runtime } = this.deps;
    if (event.type === 'recreated') {
      logger.error(
        { code: event.code, path: event.path, quarantinedTo: event.quarantinedTo, reason: event.reason },
        'store was damaged: moved aside and recreated',
      );
    } else {
      const r = event.report;
      logger.warn(
        {
          evictedRecords: r.evictedRecords,
          fromTsMs: r.fromTsMs,
          toTsMs: r.toTsMs,
          gapMarkerId: r.gapMarkerId,
        },
        'store quota reached: oldest records evicted, gap marker written',
      );
    }
    publishDocument(runtime, this.config.eventsTopic, {
      component: BUFFER_COMPONENT,
      atMs: this.deps.clock.nowMs(),
      ...event,
    }).catch((err: unknown) => logger.warn({ err: toDrError(err) }, 'could not publish a store event'));
  }

  private maintain(): void {
    try {
      const report = this.store.maintain();
      if (report.busy) this.deps.logger.debug('WAL checkpoint deferred: readers are active');
    } catch (err) {
      const e = toDrError(err);
      if (isDrError(e, 'STORE_CORRUPT')) {
        // Damaged under us (disk fault, or a file overwritten): reopen, which quarantines and recreates.
        this.deps.logger.error({ err: e }, 'store damaged while running: reopening');
        this.store.close();
        this.store = this.open(this.config);
        return;
      }
      this.deps.logger.warn({ err: e }, 'store maintenance failed; will retry');
    }
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
      this.deps.logger.warn({ err: toDrError(err) }, 'could not publish store metrics');
    }
  }

  async applyConfig(config: Readonly<BufferConfig>): Promise<void> {
    const reopen =
      this.storePath(config) !== this.storePath(this.config) ||
      JSON.stringify(config.store) !== JSON.stringify(this.config.store);
    this.config = config;
    if (reopen) {
      this.store.close();
      this.store = this.open(config);
    }
    await this.publishMetrics();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await Promise.all(this.loops);
    this.store.close();
  }
}

export function startBuffer(deps: ComponentDeps<BufferConfig>): Promise<BufferService> {
  const service = new BufferService(deps);
  return Promise.resolve(service);
}
