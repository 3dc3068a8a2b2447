import {
  activeAlarmAssets,
  AnomalyBook,
  anomalyEvent,
  type AnomalyEventView,
  type AssetView,
} from './anomalies';
import { IntervalEstimate, judgeComponent, type ComponentHealth } from './component-state';
import { configurationView, num, numOrNull, obj, text, type ConfigurationView, type Doc } from './read';
import {
  backlogView,
  deadLettersView,
  inferenceView,
  replayView,
  storeView,
  type BacklogView,
  type DiskView,
  type Received,
  type ReplayView,
} from './views';
import { SwitchLog, type SwitchView } from './switches';
import { RateMeter, SeriesWindow, type SeriesPoints } from './time-series';

/**
 * Everything the status page shows, built from the documents the suite publishes on its local topics
 * and from the disk reading, with explicit time and no I/O. Every part of it is bounded (see
 * time-series.ts, anomalies.ts, switches.ts), so the page's memory does not grow with traffic or time.
 */
export const WATCHED = [
  'com.edgedr.Buffer',
  'com.edgedr.Ingest',
  'com.edgedr.Inference',
  'com.edgedr.Replay',
] as const;
export type WatchedComponent = (typeof WATCHED)[number];

export type DocumentKind =
  | 'bufferMetrics'
  | 'bufferEvents'
  | 'ingestMetrics'
  | 'inferenceMetrics'
  | 'inferenceAlerts'
  | 'replayStatus';

/** Which component sends each document, and whether it comes at the component's regular interval. */
export const DOCUMENT_SOURCES: Readonly<
  Record<DocumentKind, { component: WatchedComponent; periodic: boolean }>
> = {
  bufferMetrics: { component: 'com.edgedr.Buffer', periodic: true },
  bufferEvents: { component: 'com.edgedr.Buffer', periodic: false },
  ingestMetrics: { component: 'com.edgedr.Ingest', periodic: true },
  inferenceMetrics: { component: 'com.edgedr.Inference', periodic: true },
  inferenceAlerts: { component: 'com.edgedr.Inference', periodic: false },
  replayStatus: { component: 'com.edgedr.Replay', periodic: true },
};

/** The recipes' defaults, used until the configuration or the observed cadence says otherwise. */
export const DEFAULT_INTERVALS_MS: Readonly<Record<WatchedComponent, number>> = {
  'com.edgedr.Buffer': 10_000,
  'com.edgedr.Ingest': 10_000,
  'com.edgedr.Inference': 10_000,
  'com.edgedr.Replay': 5_000,
};

export interface StatusModelOptions {
  readonly historyMs: number;
  readonly bucketMs: number;
  /** A component silent for this many of its intervals is shown as silent. */
  readonly staleAfterIntervals: number;
  /** Rates (drain, ingest) are averaged over this long. */
  readonly rateWindowMs: number;
}

export interface DiskReading {
  readonly path: string;
  readonly freeBytes: number;
  readonly totalBytes: number;
}

export interface ComponentView {
  readonly name: WatchedComponent;
  readonly state: ComponentHealth;
  readonly detail: string;
  readonly lastHeardMs: number | null;
  readonly silentForMs: number;
  readonly intervalMs: number;
  readonly intervalSource: 'configuration' | 'observed' | 'default';
  readonly configuration: ConfigurationView | null;
}

interface Heard {
  lastHeardMs: number | null;
  configuredIntervalMs: number | null;
  deployed: boolean | null;
  readonly estimate: IntervalEstimate;
  configuration: ConfigurationView | null;
}

const MB = 1e6;

export class StatusModel {
  private readonly heard = new Map<WatchedComponent, Heard>();
  private readonly series: SeriesWindow;
  private readonly switches = new SwitchLog();
  private readonly anomalies: AnomalyBook;
  private readonly drain: RateMeter;
  private readonly ingest: RateMeter;
  private readonly regionDrain = new Map<string, RateMeter>();
  private readonly storeEvents: Record<string, unknown>[] = [];
  private buffer: Received | null = null;
  private ingestMetrics: Received | null = null;
  private inference: Received | null = null;
  private replay: Received | null = null;
  private disk: { reading: DiskReading; atMs: number } | null = null;

  constructor(
    private readonly options: StatusModelOptions,
    readonly startedAtMs: number,
  ) {
    this.series = new SeriesWindow(options.bucketMs, Math.ceil(options.historyMs / options.bucketMs));
    this.anomalies = new AnomalyBook(options.historyMs);
    this.drain = new RateMeter(options.rateWindowMs);
    this.ingest = new RateMeter(options.rateWindowMs);
    for (const name of WATCHED)
      this.heard.set(name, {
        lastHeardMs: null,
        configuredIntervalMs: null,
        deployed: null,
        estimate: new IntervalEstimate(),
        configuration: null,
      });
  }

  private of(name: WatchedComponent): Heard {
    return this.heard.get(name) as Heard;
  }

  /** What the component's configuration says about its interval, and whether it is deployed at all. */
  configured(name: WatchedComponent, deployed: boolean | null, intervalMs: number | null): void {
    const h = this.of(name);
    h.deployed = deployed;
    h.configuredIntervalMs = intervalMs !== null && intervalMs > 0 ? intervalMs : null;
  }

  receive(kind: DocumentKind, doc: Doc, nowMs: number): void {
    const source = DOCUMENT_SOURCES[kind];
    const h = this.of(source.component);
    h.lastHeardMs = nowMs;
    h.deployed = true;
    if (source.periodic) {
      h.estimate.observe(nowMs);
      const configuration = configurationView(doc['configuration']);
      if (configuration !== null) h.configuration = configuration;
    }
    switch (kind) {
      case 'bufferMetrics':
        return this.onBufferMetrics(doc, nowMs);
      case 'bufferEvents':
        return this.onStoreEvent(doc, nowMs);
      case 'ingestMetrics': {
        this.ingestMetrics = { doc, atMs: nowMs };
        const accepted = num(doc['accepted']);
        if (accepted === undefined) return;
        // Readings, not Inference's anomaly events, which Ingest also stores.
        const rate = this.ingest.observe(accepted - (num(doc['anomalies']) ?? 0), nowMs);
        if (rate !== null) this.series.record('ingestPerSec', nowMs, rate);
        return;
      }
      case 'inferenceMetrics':
        this.inference = { doc, atMs: nowMs };
        return;
      case 'inferenceAlerts': {
        const event = anomalyEvent(doc, nowMs);
        if (event === undefined) return;
        this.anomalies.add(event);
        if (event.state === 'onset') this.series.record('anomalyOnsets', nowMs, 1, 'sum');
        return;
      }
      case 'replayStatus':
        return this.onReplayStatus(doc, nowMs);
    }
  }

  /** The free disk from statfs, used when Buffer's metrics do not carry it. */
  diskReading(reading: DiskReading, nowMs: number): void {
    this.disk = { reading, atMs: nowMs };
    if (this.bufferDisk() === null) this.series.record('diskFreeMb', nowMs, reading.freeBytes / MB);
  }

  private onBufferMetrics(doc: Doc, nowMs: number): void {
    this.buffer = { doc, atMs: nowMs };
    const lanes = obj(doc['lanes']);
    const depth = (lane: string): number | undefined => num(obj(lanes?.[lane])?.['depth']);
    const alert = depth('alert');
    const telemetry = depth('telemetry');
    if (alert !== undefined) this.series.record('backlogAlert', nowMs, alert);
    if (telemetry !== undefined) this.series.record('backlogTelemetry', nowMs, telemetry);
    const used = num(doc['usedBytes']);
    if (used !== undefined) this.series.record('storeUsedMb', nowMs, used / MB);
    const disk = this.bufferDisk();
    if (disk !== null) this.series.record('diskFreeMb', nowMs, disk.freeBytes / MB);
  }

  /** Free and total disk from Buffer's metrics, when its store reports them. */
  private bufferDisk(): { freeBytes: number; totalBytes: number | null } | null {
    const doc = this.buffer?.doc;
    const nested = obj(doc?.['disk']);
    const free = num(doc?.['diskFreeBytes']) ?? num(nested?.['freeBytes']);
    if (free === undefined) return null;
    return { freeBytes: free, totalBytes: numOrNull(doc?.['diskTotalBytes'] ?? nested?.['totalBytes']) };
  }

  private onStoreEvent(doc: Doc, nowMs: number): void {
    const report = obj(doc['report']);
    this.storeEvents.push({
      type: text(doc['type'], 32) ?? 'unknown',
      atMs: num(doc['atMs']) ?? nowMs,
      code: text(doc['code'], 64) ?? null,
      reason: text(doc['reason']) ?? null,
      quarantinedTo: text(doc['quarantinedTo']) ?? null,
      evictedRecords: numOrNull(report?.['evictedRecords']),
      fromTsMs: numOrNull(report?.['fromTsMs']),
      toTsMs: numOrNull(report?.['toTsMs']),
    });
    if (this.storeEvents.length > 20) this.storeEvents.shift();
  }

  private onReplayStatus(doc: Doc, nowMs: number): void {
    this.replay = { doc, atMs: nowMs };
    this.switches.observe(doc['recentSwitches']);
    const delivered = obj(doc['delivered']) ?? {};
    let total = 0;
    for (const [region, c] of Object.entries(delivered).slice(0, 16)) {
      const records = num(obj(c)?.['records']);
      if (records === undefined) continue;
      total += records;
      let meter = this.regionDrain.get(region);
      if (meter === undefined) {
        meter = new RateMeter(this.options.rateWindowMs);
        this.regionDrain.set(region, meter);
      }
      meter.observe(records, nowMs);
    }
    const rate = this.drain.observe(total, nowMs);
    if (rate !== null) this.series.record('drainPerSec', nowMs, rate);
    for (const [region, h] of Object.entries(obj(doc['regionHealth']) ?? {}).slice(0, 8)) {
      const latency = num(obj(h)?.['latencyMs']);
      if (latency !== undefined) this.series.record(`latencyMs:${region.slice(0, 64)}`, nowMs, latency);
    }
  }

  private alarmsFromMetrics(): { assets: string[]; atMs: number } | null {
    if (this.inference === null) return null;
    const list = this.inference.doc['activeAlarms'];
    if (!Array.isArray(list)) return null;
    const assets = list.slice(0, 1_000).flatMap((a) => (typeof a === 'string' ? [a.slice(0, 128)] : []));
    return { assets, atMs: this.inference.atMs };
  }

  components(nowMs: number): ComponentView[] {
    return WATCHED.map((name) => {
      const h = this.of(name);
      const observed = h.estimate.medianMs();
      const [intervalMs, intervalSource] =
        h.configuredIntervalMs !== null
          ? ([h.configuredIntervalMs, 'configuration'] as const)
          : observed !== undefined
            ? ([observed, 'observed'] as const)
            : ([DEFAULT_INTERVALS_MS[name], 'default'] as const);
      const j = judgeComponent(
        { lastHeardMs: h.lastHeardMs, intervalMs, deployed: h.deployed },
        nowMs,
        this.startedAtMs,
        this.options.staleAfterIntervals,
      );
      return {
        name,
        state: j.state,
        detail: j.detail,
        lastHeardMs: h.lastHeardMs,
        silentForMs: j.silentForMs,
        intervalMs,
        intervalSource,
        configuration: h.configuration,
      };
    });
  }

  /** The whole view; `seriesSinceMs` limits the charts' points to the newer buckets (live updates). */
  snapshot(nowMs: number, seriesSinceMs?: number): StatusSnapshot {
    this.series.advanceTo(nowMs);
    const components = this.components(nowMs);
    const assets = this.anomalies.assetsView(nowMs);
    const stale = (name: WatchedComponent): boolean =>
      components.find((c) => c.name === name)?.state !== 'reporting';
    return {
      atMs: nowMs,
      startedAtMs: this.startedAtMs,
      components,
      replay: replayView(this.replay, nowMs, stale('com.edgedr.Replay')),
      switches: this.switches.list(),
      backlog: backlogView(this.buffer, nowMs, stale('com.edgedr.Buffer')),
      rates: {
        windowMs: this.options.rateWindowMs,
        drainRecordsPerSec: roundOrNull(this.drain.rate(nowMs)),
        ingestRecordsPerSec: roundOrNull(this.ingest.rate(nowMs)),
        drainPerRegion: Object.fromEntries(
          [...this.regionDrain].map(([region, meter]) => [region, roundOrNull(meter.rate(nowMs))]),
        ),
      },
      anomalies: {
        assets,
        activeAlarms: activeAlarmAssets(assets, this.alarmsFromMetrics()),
        recent: this.anomalies.recentView(),
        inference: inferenceView(this.inference, stale('com.edgedr.Inference')),
      },
      deadLetters: deadLettersView(this.buffer, this.ingestMetrics),
      store: storeView(this.buffer, this.storeEvents, stale('com.edgedr.Buffer')),
      disk: this.diskView(),
      series: this.series.points(seriesSinceMs),
    };
  }

  private diskView(): DiskView | null {
    const fromBuffer = this.bufferDisk();
    if (fromBuffer !== null && this.buffer !== null)
      return {
        source: 'buffer',
        path: null,
        freeBytes: fromBuffer.freeBytes,
        totalBytes: fromBuffer.totalBytes,
        asOfMs: this.buffer.atMs,
      };
    if (this.disk === null) return null;
    return { source: 'statfs', ...this.disk.reading, asOfMs: this.disk.atMs };
  }
}

const roundOrNull = (x: number | null): number | null => (x === null ? null : Math.round(x * 10) / 10);

export interface StatusSnapshot {
  readonly atMs: number;
  readonly startedAtMs: number;
  readonly components: readonly ComponentView[];
  readonly replay: ReplayView | null;
  readonly switches: readonly SwitchView[];
  readonly backlog: BacklogView | null;
  readonly rates: {
    /** What the rates are averaged over (`rateWindowMs`). */
    readonly windowMs: number;
    readonly drainRecordsPerSec: number | null;
    readonly ingestRecordsPerSec: number | null;
    readonly drainPerRegion: Readonly<Record<string, number | null>>;
  };
  readonly anomalies: {
    readonly assets: readonly AssetView[];
    /** Assets with an alarm on, from the newest of their events and Inference's metrics. */
    readonly activeAlarms: readonly string[];
    readonly recent: readonly AnomalyEventView[];
    readonly inference: Record<string, unknown> | null;
  };
  readonly deadLetters: Record<string, unknown>;
  readonly store: Record<string, unknown> | null;
  readonly disk: DiskView | null;
  readonly series: SeriesPoints;
}
