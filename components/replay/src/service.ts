import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { publishDocument } from '../../../shared/src/messages/documents';
import { join } from 'node:path';
import type { ComponentDeps, RunningService } from '../../../shared/src/component/run';
import { DrError, toDrError } from '../../../shared/src/errors';
import { packEnvelopes, type Envelope } from '../../../shared/src/envelope';
import type { Logger } from '../../../shared/src/logger';
import { FollowingStore } from '../../../shared/src/store/following-store';
import { sharedStoreLocation, type StoreLocation } from '../../../shared/src/store/location';
import type { StoredRecord, StoreMetrics } from '../../../shared/src/store';
import { resolveTopics, type ReplayConfig } from './config';
import { checkCommand, SeenIds, type Command } from './core/commands';
import {
  initialHealth,
  isThrottled,
  nextHealth,
  PUBACK,
  retryMisconfigured,
  type HealthPolicy,
  type RegionEvent,
  type RegionHealth,
} from './core/health';
import { selectRegion, type SwitchKind } from './core/selection';
import { PublishFailed, RegionLink, type PublishOutcome } from './region-link';
import type { RegionConfig } from './regions';

interface Flight {
  readonly batchId: string;
  readonly region: string;
  readonly ids: readonly string[];
  readonly plainBytes: number;
  readonly payloadBytes: number;
  /** Released for a resend elsewhere (failover): a late PUBACK still deletes, a failure changes nothing. */
  abandoned: boolean;
}

/** A failover, fail-back, recovery or operator switch, with its timing. */
export interface SwitchReport {
  readonly kind: SwitchKind;
  readonly from: string | null;
  readonly to: string | null;
  readonly reason: string;
  /** The last PUBACK from the old region before the switch. */
  readonly lastGoodMs: number | null;
  /** When the old region was judged down (failover) or the new one healthy (fail-back, recovery). */
  readonly detectedAtMs: number | null;
  readonly switchedAtMs: number;
  /** From the last good PUBACK to the judgement. */
  readonly detectionMs: number | null;
  /** The first PUBACK from the new region, and the time from the switch to it. */
  firstAckMs: number | null;
  switchMs: number | null;
}

interface RegionCounters {
  records: number;
  batches: number;
  payloadBytes: number;
  refusedBatches: number;
  failedBatches: number;
  probes: number;
  failedProbes: number;
}

interface Overrides {
  readonly pinnedRegion: string | null;
  readonly paused: boolean;
  /** The configuration's values when the overrides were set: a later deployment wins over a command. */
  readonly configPinnedRegion: string | null;
  readonly configPaused: boolean;
}

const STATE_FILE = 'replay-state.json';
const SEEN_COMMANDS = 1_000;
const TICK_MS = 100;
const METRICS_MAX_AGE_MS = 1_000;

const isSuccess = (code: number): boolean => code === PUBACK.success || code === PUBACK.noMatchingSubscribers;

/**
 * Replay: drains the store upstream to the best healthy region. Reads batches by lane priority, packs
 * them into envelopes sized under IoT Core's message limit, publishes QoS1 with a bounded number in
 * flight and deletes records only after a successful PUBACK. A region judged down loses its in-flight
 * batches to the next region at once (same record ids: the only source of duplicates). Presence, the DR
 * shadow and cloud commands ride on the same connections.
 */
export class ReplayService implements RunningService<ReplayConfig> {
  private config: ReplayConfig;
  private topics: ReplayConfig['topics'];
  private links = new Map<string, RegionLink>();
  private health = new Map<string, RegionHealth>();
  private readonly counters = new Map<string, RegionCounters>();
  private active: string | null = null;
  private pinned: string | null;
  private paused: boolean;
  private noFailbackBeforeMs = 0;
  private linksStartedMs = 0;
  private readonly inFlight = new Map<string, Flight>();
  private readonly probing = new Set<string>();
  private readonly lastProbeMs = new Map<string, number>();
  private lastSendMs = 0;
  /** Serialised bytes per payload byte, learnt from sent envelopes: sizes reads to fill the free slots. */
  private plainPerPayload = 1;
  private readonly switches: SwitchReport[] = [];
  private pendingSwitch: SwitchReport | null = null;
  private switchCounts: Partial<Record<SwitchKind, number>> = {};
  private resentRecords = 0;
  private readonly seen = new SeenIds(SEEN_COMMANDS);
  private commandCounts = { accepted: 0, refused: 0 };
  private metricsCache: { atMs: number; metrics: StoreMetrics } | null = null;
  private lastShadow = { atMs: 0, key: '' };
  private lastStatusMs = 0;
  private lastReadErrorLogMs = 0;
  private wakeUp: (() => void) | null = null;
  private readonly abort = new AbortController();
  private readonly loops: Promise<void>[] = [];
  private readonly logger: Logger;

  static async start(deps: ComponentDeps<ReplayConfig>): Promise<ReplayService> {
    const location = await sharedStoreLocation(deps.runtime);
    checkSettings(deps.config, location);
    const store = new FollowingStore(location, deps.runtime.thingName, deps.logger);
    deps.logger.info(
      {
        path: location.path,
        regions: deps.config.regions.map((r) => ({
          name: r.name,
          endpoint: `${r.endpoint}:${r.port}`,
          priority: r.priority,
          standby: r.standby,
          iotCoreFlowControl: r.iotCoreFlowControl,
        })),
      },
      'store open, regions configured',
    );
    if (deps.config.regions.length === 0)
      deps.logger.error(
        'no regions configured: records stay in the store until a deployment configures regions',
      );
    const service = new ReplayService(deps, store);
    service.startLinks();
    service.loops.push(service.drainLoop(), service.tickLoop());
    return service;
  }

  private constructor(
    private readonly deps: ComponentDeps<ReplayConfig>,
    private readonly store: FollowingStore,
  ) {
    this.config = deps.config;
    this.logger = deps.logger;
    this.topics = resolveTopics(deps.config, deps.runtime.thingName);
    const overrides = this.loadOverrides(deps.config);
    this.pinned = overrides.pinnedRegion;
    this.paused = overrides.paused;
  }

  // ---- regions -------------------------------------------------------------------------------

  private get policy(): HealthPolicy {
    return this.config.health;
  }

  private now(): number {
    return this.deps.clock.nowMs();
  }

  private countersOf(region: string): RegionCounters {
    let c = this.counters.get(region);
    if (c === undefined) {
      c = {
        records: 0,
        batches: 0,
        payloadBytes: 0,
        refusedBatches: 0,
        failedBatches: 0,
        probes: 0,
        failedProbes: 0,
      };
      this.counters.set(region, c);
    }
    return c;
  }

  private makeLink(region: RegionConfig): RegionLink {
    return new RegionLink(
      region,
      this.config.connection,
      { presence: this.topics.presence, commands: this.topics.commands },
      this.deps.runtime.thingName,
      {
        connected: () => {
          this.logger.info({ region: region.name }, 'region connected');
          this.onRegionEvent(region.name, { type: 'connected' });
        },
        disconnected: (reason) => this.onRegionEvent(region.name, { type: 'disconnected', reason }),
        connectFailed: (d) => {
          if (d.kind === 'certificate') {
            this.onRegionEvent(region.name, { type: 'refused', reason: d.cause });
            // Retrying will not fix a certificate; the link waits for misconfiguredRetryMs.
            void this.links.get(region.name)?.stop();
          } else {
            this.onRegionEvent(region.name, { type: 'connect-failed', reason: d.cause });
          }
        },
        message: (topic, payload, correlation) => this.onMessage(region.name, topic, payload, correlation),
      },
      this.logger,
    );
  }

  private startLinks(): void {
    this.linksStartedMs = this.now();
    for (const region of this.config.regions) {
      this.health.set(region.name, initialHealth(region.name, region.priority));
      const link = this.makeLink(region);
      this.links.set(region.name, link);
      if (region.standby === 'warm' || region.name === this.pinned) link.start();
    }
    this.manageColdLinks();
  }

  private onRegionEvent(name: string, event: RegionEvent): void {
    const before = this.health.get(name);
    if (before === undefined) return;
    const after = nextHealth(before, event, this.now(), this.policy);
    this.health.set(name, after);
    if (after.status !== before.status) {
      const fields = { region: name, from: before.status, to: after.status, reason: after.reason };
      if (after.status === 'misconfigured') this.logger.error(fields, 'region misconfigured');
      else if (after.status === 'down') this.logger.warn(fields, 'region down');
      else this.logger.info(fields, 'region health changed');
    }
    this.reselect();
  }

  private reselect(): void {
    const nowMs = this.now();
    const selection = selectRegion({
      regions: [...this.health.values()],
      active: this.active,
      pinned: this.pinned,
      failbackHoldMs: this.config.health.failbackHoldMs,
      noFailbackBeforeMs: this.noFailbackBeforeMs,
      awaitPreferredUntilMs: this.linksStartedMs + this.config.connection.connectTimeoutMs,
      nowMs,
    });
    if (selection.change === undefined) return;
    this.switchTo(
      selection.change.kind,
      selection.active,
      selection.change.reason,
      selection.change.detectedAtMs,
    );
  }

  private switchTo(kind: SwitchKind, to: string | null, reason: string, detectedAtMs: number | null): void {
    const from = this.active;
    const old = from === null ? undefined : this.health.get(from);
    const nowMs = this.now();
    const lastGood = old?.lastSuccessMs ?? null;
    this.active = to;
    // Batches in flight to a region that is not healthy are resent elsewhere now, not after their
    // timeouts; to a healthy region (fail-back, pin) they are left to complete.
    if (old !== undefined && old.status !== 'healthy') this.abandonFlights(old.name);
    const report: SwitchReport = {
      kind,
      from,
      to,
      reason,
      lastGoodMs: lastGood,
      detectedAtMs,
      switchedAtMs: nowMs,
      detectionMs:
        (kind === 'failover' || kind === 'all-down') && detectedAtMs !== null && lastGood !== null
          ? detectedAtMs - lastGood
          : null,
      firstAckMs: null,
      switchMs: null,
    };
    this.switches.push(report);
    if (this.switches.length > 50) this.switches.shift();
    this.switchCounts[kind] = (this.switchCounts[kind] ?? 0) + 1;
    this.pendingSwitch = to === null ? this.pendingSwitch : report;
    const fields = { kind, from, to, reason, detectionMs: report.detectionMs };
    if (kind === 'failover' || kind === 'all-down') this.logger.warn(fields, `region switch: ${kind}`);
    else this.logger.info(fields, `region switch: ${kind}`);
    this.manageColdLinks();
    this.wake();
  }

  private abandonFlights(region: string): void {
    const ids: string[] = [];
    for (const f of this.inFlight.values()) {
      if (f.region !== region || f.abandoned) continue;
      f.abandoned = true;
      ids.push(...f.ids);
    }
    if (ids.length === 0) return;
    this.resentRecords += ids.length;
    this.safely('release', () => this.store.release(ids));
    this.logger.warn(
      { region, records: ids.length },
      'unacknowledged batches released for a resend to the next region (possible duplicates, same ids)',
    );
  }

  /**
   * Cold standbys connect only while no region is healthy (after the warm ones had their chance to
   * connect at start), or when pinned or active.
   */
  private manageColdLinks(): void {
    const activeHealthy = this.active !== null && this.health.get(this.active)?.status === 'healthy';
    const starting = this.now() < this.linksStartedMs + this.config.connection.connectTimeoutMs;
    for (const region of this.config.regions) {
      if (region.standby !== 'cold') continue;
      const link = this.links.get(region.name);
      if (link === undefined) continue;
      const wanted =
        region.name === this.active || region.name === this.pinned || (!activeHealthy && !starting);
      const inFlight = [...this.inFlight.values()].some((f) => f.region === region.name);
      if (wanted && !link.started && this.health.get(region.name)?.status !== 'misconfigured') {
        this.logger.info({ region: region.name }, 'connecting cold standby');
        link.start();
      } else if (!wanted && link.started && !inFlight) {
        this.logger.info({ region: region.name }, 'disconnecting cold standby');
        void link.stop();
        this.health.set(region.name, initialHealth(region.name, region.priority));
      }
    }
  }

  // ---- drain ---------------------------------------------------------------------------------

  private wake(): void {
    const w = this.wakeUp;
    this.wakeUp = null;
    w?.();
  }

  private wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wakeUp = done;
    });
  }

  private sendableLink(): RegionLink | undefined {
    if (this.paused || this.active === null) return undefined;
    const h = this.health.get(this.active);
    const link = this.links.get(this.active);
    if (h?.status !== 'healthy' || link?.connected !== true || isThrottled(h, this.now())) return undefined;
    return link;
  }

  private safely<T>(action: string, fn: () => T): T | undefined {
    try {
      return fn();
    } catch (err) {
      const nowMs = this.now();
      if (nowMs - this.lastReadErrorLogMs > 5_000) {
        this.lastReadErrorLogMs = nowMs;
        this.logger.error({ err: toDrError(err), action }, 'store operation failed; retrying');
      }
      return undefined;
    }
  }

  private async drainLoop(): Promise<void> {
    const b = (): ReplayConfig['batching'] => this.config.batching;
    while (!this.abort.signal.aborted) {
      const link = this.sendableLink();
      const free = b().maxInFlight - this.inFlight.size;
      if (link === undefined || free <= 0) {
        await this.wait(b().pollIntervalMs);
        continue;
      }
      // Read what fills the free slots at the compression seen so far.
      const maxBytes = Math.min(
        b().maxReadBytes,
        Math.max(b().maxEnvelopeBytes, Math.floor(free * b().maxEnvelopeBytes * this.plainPerPayload * 0.95)),
      );
      const records = this.safely('read', () =>
        this.store.nextBatch({ maxRecords: b().maxReadRecords, maxBytes }),
      );
      if (records === undefined || records.length === 0) {
        await this.wait(records === undefined ? 1_000 : b().pollIntervalMs);
        continue;
      }
      let envelopes: Envelope[];
      try {
        envelopes = packEnvelopes(this.deps.runtime.thingName, records, b().maxEnvelopeBytes);
      } catch (err) {
        // Cannot happen with checked settings (a record always fits); never spin on it.
        this.safely('release', () => this.store.release(records.map((r) => r.id)));
        this.logger.error({ err: toDrError(err) }, 'could not pack records into envelopes');
        await this.wait(5_000);
        continue;
      }
      let at = 0;
      for (const envelope of envelopes) {
        const slice = records.slice(at, at + envelope.header.count);
        at += envelope.header.count;
        this.send(link, envelope, slice);
      }
      // Let PUBACKs and events run between reads.
      await new Promise((r) => setImmediate(r));
    }
  }

  private send(link: RegionLink, envelope: Envelope, records: readonly StoredRecord[]): void {
    const plainBytes = records.reduce((sum, r) => sum + r.sizeBytes, 0);
    const flight: Flight = {
      batchId: envelope.header.batchId,
      region: link.region.name,
      ids: records.map((r) => r.id),
      plainBytes,
      payloadBytes: envelope.payload.length,
      abandoned: false,
    };
    this.plainPerPayload += 0.2 * (plainBytes / envelope.payload.length - this.plainPerPayload);
    this.inFlight.set(flight.batchId, flight);
    this.lastSendMs = this.now();
    link
      .publish(this.topics.batches, envelope.payload, {
        userProperties: envelope.userProperties,
        contentType: envelope.header.encoding === 'gzip' ? 'application/gzip' : 'application/json',
      })
      .then(
        (outcome) => this.onPuback(flight, outcome),
        (err: unknown) => this.onPublishFailed(flight, err),
      )
      .catch((err: unknown) => this.logger.error({ err: toDrError(err) }, 'fault handling a PUBACK'))
      .finally(() => {
        this.inFlight.delete(flight.batchId);
        this.wake();
      });
  }

  private onPuback(flight: Flight, outcome: PublishOutcome): void {
    const c = this.countersOf(flight.region);
    if (isSuccess(outcome.reasonCode)) {
      // Delivered: delete, even when the batch was abandoned meanwhile (its resend is then a duplicate).
      this.safely('ack', () => this.store.ack(flight.ids));
      c.records += flight.ids.length;
      c.batches += 1;
      c.payloadBytes += flight.payloadBytes;
      this.firstAck(flight.region);
    } else {
      c.refusedBatches += 1;
      if (!flight.abandoned) this.safely('release', () => this.store.release(flight.ids));
      this.logger.warn(
        {
          region: flight.region,
          topic: this.topics.batches,
          reasonCode: `0x${outcome.reasonCode.toString(16)}`,
          batchId: flight.batchId,
        },
        'batch refused by the region; its records stay in the store',
      );
    }
    this.onRegionEvent(flight.region, {
      type: 'puback',
      reasonCode: outcome.reasonCode,
      latencyMs: outcome.latencyMs,
      topic: this.topics.batches,
    });
  }

  private onPublishFailed(flight: Flight, err: unknown): void {
    this.countersOf(flight.region).failedBatches += 1;
    if (!flight.abandoned) this.safely('release', () => this.store.release(flight.ids));
    if (err instanceof PublishFailed && err.timedOut) {
      this.onRegionEvent(flight.region, { type: 'publish-timeout', topic: this.topics.batches });
    } else {
      this.logger.debug({ region: flight.region, err: String(err) }, 'batch not delivered; resending');
    }
  }

  private firstAck(region: string): void {
    const s = this.pendingSwitch;
    if (s === null || s.to !== region) return;
    this.pendingSwitch = null;
    s.firstAckMs = this.now();
    s.switchMs = s.firstAckMs - s.switchedAtMs;
    this.logger.info(
      {
        kind: s.kind,
        from: s.from,
        to: s.to,
        detectionMs: s.detectionMs,
        switchMs: s.switchMs,
        outageMs: s.kind !== 'failover' || s.lastGoodMs === null ? null : s.firstAckMs - s.lastGoodMs,
      },
      'region switch complete: first PUBACK from the new region',
    );
  }

  // ---- housekeeping: retries, probes, shadow, status -------------------------------------------

  private async tickLoop(): Promise<void> {
    while (!this.abort.signal.aborted) {
      try {
        await this.deps.clock.sleep(TICK_MS, this.abort.signal);
      } catch {
        return;
      }
      try {
        this.tick();
      } catch (err) {
        this.logger.error({ err: toDrError(err) }, 'fault in the replay housekeeping tick');
      }
    }
  }

  private tick(): void {
    const nowMs = this.now();
    for (const [name, h] of this.health) {
      const next = retryMisconfigured(h, nowMs, this.policy);
      if (next === h) continue;
      this.health.set(name, next);
      const region = this.config.regions.find((r) => r.name === name);
      const link = this.links.get(name);
      if (region === undefined || link === undefined) continue;
      this.logger.info({ region: name }, 'retrying a misconfigured region (its files are read again)');
      void link.stop().then(() => {
        if (this.abort.signal.aborted || this.links.get(name) !== link) return;
        const fresh = this.makeLink(region);
        this.links.set(name, fresh);
        if (region.standby === 'warm' || name === this.active || name === this.pinned) fresh.start();
      });
    }
    this.reselect();
    this.manageColdLinks();
    this.probe(nowMs);
    this.publishShadow(nowMs);
    if (nowMs - this.lastStatusMs >= this.config.statusIntervalMs) {
      this.lastStatusMs = nowMs;
      publishDocument(this.deps.runtime, this.config.statusTopic, this.status()).catch((err: unknown) =>
        this.logger.debug({ err: String(err) }, 'local status not published'),
      );
    }
  }

  /** Probes standbys, regions judged down that are still connected, and the active region while idle. */
  private probe(nowMs: number): void {
    for (const [name, link] of this.links) {
      if (!link.connected || this.probing.has(name)) continue;
      if (name === this.active && nowMs - this.lastSendMs < this.config.health.probeIntervalMs) continue;
      if (nowMs - (this.lastProbeMs.get(name) ?? 0) < this.config.health.probeIntervalMs) continue;
      this.probing.add(name);
      this.lastProbeMs.set(name, nowMs);
      const c = this.countersOf(name);
      c.probes += 1;
      const payload = Buffer.from(
        JSON.stringify({ thing: this.deps.runtime.thingName, region: name, atMs: nowMs }),
      );
      link
        .publish(this.topics.probe, payload, { contentType: 'application/json' })
        .then(
          (o) => {
            if (isSuccess(o.reasonCode))
              this.onRegionEvent(name, { type: 'probe-ok', latencyMs: o.latencyMs });
            else
              this.onRegionEvent(name, {
                type: 'puback',
                reasonCode: o.reasonCode,
                latencyMs: o.latencyMs,
                topic: this.topics.probe,
              });
          },
          (err: unknown) => {
            c.failedProbes += 1;
            if (err instanceof PublishFailed && err.timedOut)
              this.onRegionEvent(name, {
                type: 'probe-failed',
                reason: `no PUBACK for a probe: ${err.message}`,
              });
          },
        )
        .finally(() => this.probing.delete(name))
        .catch(() => undefined);
    }
  }

  private storeMetrics(): StoreMetrics | null {
    const nowMs = this.now();
    if (this.metricsCache === null || nowMs - this.metricsCache.atMs >= METRICS_MAX_AGE_MS) {
      const metrics = this.safely('metrics', () => this.store.metrics());
      if (metrics !== undefined) this.metricsCache = { atMs: nowMs, metrics };
    }
    return this.metricsCache?.metrics ?? null;
  }

  /** The DR named shadow's reported state, sent to the active region on change, at most every minIntervalMs. */
  private reported(): Record<string, unknown> {
    const m = this.storeMetrics();
    const last = this.switches.findLast(
      (s) => s.kind === 'failover' || s.kind === 'manual' || s.kind === 'all-down',
    );
    return {
      activeRegion: this.active,
      pinnedRegion: this.pinned,
      paused: this.paused,
      regions: Object.fromEntries([...this.health].map(([n, h]) => [n, h.status])),
      backlog:
        m === null
          ? null
          : {
              alert: m.lanes.alert.depth,
              live: m.liveTelemetryDepth,
              backlog: m.lanes.telemetry.depth - m.liveTelemetryDepth,
            },
      oldestAgeMs:
        m === null ? null : Math.max(m.lanes.alert.oldestAgeMs ?? 0, m.lanes.telemetry.oldestAgeMs ?? 0),
      storeBytes: m?.usedBytes ?? null,
      lastFailover:
        last === undefined
          ? null
          : { kind: last.kind, from: last.from, to: last.to, atMs: last.switchedAtMs, reason: last.reason },
    };
  }

  private publishShadow(nowMs: number): void {
    if (nowMs - this.lastShadow.atMs < this.config.shadow.minIntervalMs) return;
    const link = this.active === null ? undefined : this.links.get(this.active);
    if (link?.connected !== true) return;
    const reported = this.reported();
    const { oldestAgeMs: _age, ...stable } = reported;
    const key = JSON.stringify(stable);
    if (key === this.lastShadow.key) return;
    this.lastShadow = { atMs: nowMs, key };
    const doc = Buffer.from(JSON.stringify({ state: { reported: { ...reported, updatedAtMs: nowMs } } }));
    link.publish(this.topics.shadowUpdate, doc, { contentType: 'application/json' }).then(
      (o) => {
        if (!isSuccess(o.reasonCode)) {
          this.lastShadow = { atMs: nowMs, key: '' };
          this.logger.error(
            {
              region: link.region.name,
              topic: this.topics.shadowUpdate,
              reasonCode: `0x${o.reasonCode.toString(16)}`,
            },
            'shadow update refused: check the IoT policy',
          );
        }
      },
      () => {
        this.lastShadow = { atMs: nowMs, key: '' }; // send again at the next chance
      },
    );
  }

  /** What `status` answers and what goes to the local status topic. */
  status(): Record<string, unknown> {
    return {
      thing: this.deps.runtime.thingName,
      atMs: this.now(),
      ...this.reported(),
      regionHealth: Object.fromEntries(
        [...this.health].map(([n, h]) => [
          n,
          {
            status: h.status,
            reason: h.reason,
            latencyMs: h.latencyMs === null ? null : Math.round(h.latencyMs * 10) / 10,
            connected: this.links.get(n)?.connected ?? false,
            lastSuccessMs: h.lastSuccessMs,
          },
        ]),
      ),
      delivered: Object.fromEntries(this.counters),
      inFlightBatches: this.inFlight.size,
      resentRecords: this.resentRecords,
      switches: this.switchCounts,
      recentSwitches: this.switches.slice(-5),
      commands: this.commandCounts,
      configuration: this.deps.configurationStatus,
    };
  }

  // ---- commands --------------------------------------------------------------------------------

  private onMessage(
    region: string,
    topic: string,
    payload: Uint8Array,
    correlation: Uint8Array | undefined,
  ): void {
    if (topic !== this.topics.commands) return;
    const verdict = checkCommand(payload, this.now(), this.config.commands, this.seen);
    const reply = (body: Record<string, unknown>): void => {
      const link = this.links.get(region);
      if (link === undefined) return;
      link
        .publish(
          this.topics.commandReplies,
          Buffer.from(JSON.stringify({ ...body, region, atMs: this.now() })),
          {
            contentType: 'application/json',
            ...(correlation === undefined ? {} : { correlationData: correlation }),
          },
        )
        .catch((err: unknown) =>
          this.logger.warn({ region, err: String(err) }, 'command reply not delivered'),
        );
    };
    if (!verdict.ok) {
      this.commandCounts.refused += 1;
      this.logger.warn(
        { region, id: verdict.id, reason: verdict.reason, detail: verdict.detail },
        'command refused',
      );
      reply({ id: verdict.id, status: 'refused', reason: verdict.reason, detail: verdict.detail });
      return;
    }
    const command = verdict.command;
    this.seen.add(command.id);
    void this.execute(command, region).then(
      (result) => {
        this.commandCounts.accepted += 1;
        this.logger.info({ region, id: command.id, type: command.type, result }, 'command executed');
        reply({ id: command.id, type: command.type, status: 'done', result });
      },
      (err: unknown) => {
        this.commandCounts.refused += 1;
        const e = toDrError(err);
        this.logger.warn({ region, id: command.id, type: command.type, err: e }, 'command failed');
        reply({ id: command.id, type: command.type, status: 'failed', reason: e.code, detail: e.message });
      },
    );
  }

  private regionNamed(name: string): RegionConfig {
    const region = this.config.regions.find((r) => r.name === name);
    if (region === undefined)
      throw new DrError(
        'COMMAND_REJECTED',
        `no region named ${name}; configured: ${this.config.regions.map((r) => r.name).join(', ')}`,
      );
    return region;
  }

  private async execute(command: Command, from: string): Promise<unknown> {
    switch (command.type) {
      case 'status':
        return this.status();
      case 'failover': {
        const target = this.regionNamed(command.args.region);
        const h = this.health.get(target.name);
        if (h?.status !== 'healthy')
          throw new DrError(
            'COMMAND_REJECTED',
            `region ${target.name} is ${h?.status ?? 'unknown'}, not healthy`,
          );
        if (this.pinned !== null && this.pinned !== target.name)
          throw new DrError('COMMAND_REJECTED', `region ${this.pinned} is pinned; unpin first`);
        this.noFailbackBeforeMs = this.now() + this.config.health.failbackHoldMs;
        if (this.active !== target.name)
          this.switchTo('manual', target.name, `operator failover via ${from}`, this.now());
        return { activeRegion: this.active, noFailbackBeforeMs: this.noFailbackBeforeMs };
      }
      case 'pin':
        this.pinned = this.regionNamed(command.args.region).name;
        this.saveOverrides();
        this.manageColdLinks();
        this.reselect();
        return { pinnedRegion: this.pinned, activeRegion: this.active };
      case 'unpin':
        this.pinned = null;
        this.saveOverrides();
        this.reselect();
        return { pinnedRegion: null, activeRegion: this.active };
      case 'pause':
        this.paused = true;
        this.saveOverrides();
        return { paused: true };
      case 'resume':
        this.paused = false;
        this.saveOverrides();
        this.wake();
        return { paused: false };
      case 'recalibrate': {
        const topic = this.config.commands.inferenceTopic;
        await publishDocument(this.deps.runtime, topic, {
          id: command.id,
          type: 'recalibrate',
          ...(command.args.asset === undefined ? {} : { asset: command.args.asset }),
          requestedVia: from,
          atMs: this.now(),
        });
        return { forwardedTo: topic };
      }
    }
  }

  // ---- operator overrides survive restarts ------------------------------------------------------

  private loadOverrides(config: ReplayConfig): Overrides {
    const fromConfig: Overrides = {
      pinnedRegion: config.pinnedRegion,
      paused: config.paused,
      configPinnedRegion: config.pinnedRegion,
      configPaused: config.paused,
    };
    let saved: Overrides;
    try {
      saved = JSON.parse(readFileSync(join(this.deps.runtime.workDir, STATE_FILE), 'utf8')) as Overrides;
    } catch {
      return fromConfig;
    }
    // A deployment made since the command wins; an unknown region is dropped.
    if (saved.configPinnedRegion !== config.pinnedRegion || saved.configPaused !== config.paused)
      return fromConfig;
    const pinned =
      saved.pinnedRegion !== null && config.regions.some((r) => r.name === saved.pinnedRegion)
        ? saved.pinnedRegion
        : null;
    if (pinned !== null || saved.paused)
      this.logger.warn(
        { pinnedRegion: pinned, paused: saved.paused },
        'operator overrides from a command are in force',
      );
    return { ...saved, pinnedRegion: pinned, paused: saved.paused === true };
  }

  private saveOverrides(): void {
    const path = join(this.deps.runtime.workDir, STATE_FILE);
    const state: Overrides = {
      pinnedRegion: this.pinned,
      paused: this.paused,
      configPinnedRegion: this.config.pinnedRegion,
      configPaused: this.config.paused,
    };
    try {
      writeFileSync(`${path}.tmp`, JSON.stringify(state));
      renameSync(`${path}.tmp`, path);
    } catch (err) {
      this.logger.error(
        { err: toDrError(err), path },
        'operator overrides not saved; they last until a restart',
      );
    }
  }

  // ---- lifecycle ----------------------------------------------------------------------------------

  async applyConfig(config: ReplayConfig): Promise<void> {
    const previous = this.config;
    checkSettings(config, { settings: this.store.settings });
    this.config = config;
    this.topics = resolveTopics(config, this.deps.runtime.thingName);
    if (previous.pinnedRegion !== config.pinnedRegion || previous.paused !== config.paused) {
      this.pinned = config.pinnedRegion;
      this.paused = config.paused;
      this.saveOverrides();
    }
    const relink =
      JSON.stringify([previous.regions, previous.connection, previous.topics, previous.shadow]) !==
      JSON.stringify([config.regions, config.connection, config.topics, config.shadow]);
    if (relink) {
      this.logger.info('regions or connection settings changed: reconnecting');
      for (const link of this.links.values()) this.abandonFlights(link.region.name);
      await Promise.all([...this.links.values()].map((l) => l.stop()));
      this.links = new Map();
      this.health = new Map();
      this.active = null;
      this.pendingSwitch = null;
      this.startLinks();
    }
    this.reselect();
    this.wake();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    this.wake();
    await Promise.all(this.loops);
    const unacked = [...this.inFlight.values()].filter((f) => !f.abandoned).flatMap((f) => f.ids);
    if (unacked.length > 0) this.safely('release', () => this.store.release(unacked));
    await Promise.all([...this.links.values()].map((l) => l.stop()));
    this.store.close();
  }
}

/** Settings that only make sense together with the store's. */
function checkSettings(config: ReplayConfig, location: Pick<StoreLocation, 'settings'>): void {
  const needed = location.settings.maxRecordBodyBytes + 2 * 1024;
  if (config.batching.maxEnvelopeBytes < needed) {
    throw new DrError(
      'CFG_INVALID',
      `batching.maxEnvelopeBytes ${config.batching.maxEnvelopeBytes} cannot carry the store's largest record ` +
        `(maxRecordBodyBytes ${location.settings.maxRecordBodyBytes}); use at least ${needed}`,
    );
  }
}
