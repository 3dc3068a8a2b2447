import { bool, counts, num, numOrNull, obj, text, type Doc } from './read';

/**
 * The parts of the status snapshot built from the last document of each kind: plain functions of that
 * document, when it arrived, the time now and whether its sender is still reporting (`stale`: these are
 * its last figures).
 */
export interface Received {
  readonly doc: Doc;
  readonly atMs: number;
}

export function replayView(received: Received | null, nowMs: number, stale: boolean): ReplayView | null {
  if (received === null) return null;
  const { doc, atMs } = received;
  const delivered = obj(doc['delivered']) ?? {};
  const active = text(doc['activeRegion'], 64) ?? null;
  const regions = Object.entries(obj(doc['regionHealth']) ?? {})
    .slice(0, 16)
    .map(([name, raw]) => {
      const h = obj(raw) ?? {};
      const c = obj(delivered[name]) ?? {};
      return {
        name,
        active: name === active,
        status: text(h['status'], 32) ?? 'unknown',
        reason: text(h['reason']) ?? null,
        connected: bool(h['connected']) ?? false,
        latencyMs: numOrNull(h['latencyMs']),
        lastSuccessAgeMs:
          num(h['lastSuccessMs']) === undefined ? null : nowMs - (num(h['lastSuccessMs']) ?? 0),
        deliveredRecords: num(c['records']) ?? 0,
        deliveredBatches: num(c['batches']) ?? 0,
        refusedBatches: num(c['refusedBatches']) ?? 0,
        failedBatches: num(c['failedBatches']) ?? 0,
      };
    });
  return {
    asOfMs: atMs,
    stale,
    activeRegion: active,
    pinnedRegion: text(doc['pinnedRegion'], 64) ?? null,
    paused: bool(doc['paused']) ?? false,
    inFlightBatches: numOrNull(doc['inFlightBatches']),
    resentRecords: numOrNull(doc['resentRecords']),
    regions,
  };
}

export function backlogView(received: Received | null, nowMs: number, stale: boolean): BacklogView | null {
  if (received === null) return null;
  const { doc, atMs } = received;
  const lanes = obj(doc['lanes']) ?? {};
  const lane = (name: string): LaneView => {
    const l = obj(lanes[name]) ?? {};
    const oldestTsMs = num(l['oldestTsMs']);
    const reportedAge = num(l['oldestAgeMs']);
    return {
      depth: num(l['depth']) ?? 0,
      bytes: num(l['bytes']) ?? 0,
      // The oldest record keeps ageing between two reports.
      oldestAgeMs:
        oldestTsMs !== undefined
          ? Math.max(0, nowMs - oldestTsMs)
          : reportedAge !== undefined
            ? reportedAge + (nowMs - atMs)
            : null,
    };
  };
  const telemetry = lane('telemetry');
  const live = num(doc['liveTelemetryDepth']) ?? null;
  return {
    asOfMs: atMs,
    stale,
    alert: lane('alert'),
    telemetry,
    liveTelemetry: live,
    backlogTelemetry: live === null ? null : Math.max(0, telemetry.depth - live),
  };
}

export function inferenceView(received: Received | null, stale: boolean): Record<string, unknown> | null {
  if (received === null) return null;
  const { doc, atMs } = received;
  const alarms = Array.isArray(doc['activeAlarms']) ? (doc['activeAlarms'] as unknown[]) : [];
  return {
    asOfMs: atMs,
    stale,
    assets: numOrNull(doc['assets']),
    activeAlarms: alarms.length,
    activeAlarmAssets: alarms.slice(0, 20).flatMap((a) => (typeof a === 'string' ? [a.slice(0, 128)] : [])),
    windowsScored: numOrNull(doc['windowsScored']),
    onsets: numOrNull(doc['onsets']),
    calibrating: Object.fromEntries(
      Object.entries(obj(doc['calibrating']) ?? {})
        .slice(0, 10)
        .map(([k, v]) => [k.slice(0, 128), text(v, 32) ?? '']),
    ),
    quietUntilCalibrated: bool(doc['quietUntilCalibrated']) ?? false,
  };
}

export function deadLettersView(buffer: Received | null, ingest: Received | null): Record<string, unknown> {
  const b = buffer?.doc;
  const i = ingest?.doc;
  return {
    asOfMs: buffer?.atMs ?? null,
    storedByReason: counts(b?.['deadLettersByReason']),
    stored: numOrNull(b?.['deadLettersStored']),
    total: numOrNull(b?.['deadLettersTotal']),
    droppedOldest: numOrNull(b?.['deadLettersDroppedTotal']),
    ingestAsOfMs: ingest?.atMs ?? null,
    ingestRejected: counts(i?.['rejected']),
    storeFailures: numOrNull(i?.['storeFailures']),
    liveBatchFailures: numOrNull(i?.['liveBatchFailures']),
  };
}

export function storeView(
  received: Received | null,
  events: readonly Record<string, unknown>[],
  stale: boolean,
): Record<string, unknown> | null {
  if (received === null) return null;
  const { doc, atMs } = received;
  return {
    asOfMs: atMs,
    stale,
    usedBytes: numOrNull(doc['usedBytes']),
    maxStoreBytes: numOrNull(doc['maxStoreBytes']),
    // From a store that counts the disk into its quota (absent otherwise).
    effectiveLimitBytes: numOrNull(doc['effectiveLimitBytes']),
    diskBound: bool(doc['diskBound']) ?? null,
    bytesAtRest: numOrNull(doc['bytesAtRest']),
    fileBytes: numOrNull(doc['fileBytes']),
    walBytes: numOrNull(doc['walBytes']),
    evictedRecordsTotal: numOrNull(doc['evictedRecordsTotal']),
    evictionRoundsTotal: numOrNull(doc['evictionRoundsTotal']),
    storeEpoch: text(doc['storeEpoch'], 64) ?? null,
    events: [...events].reverse(),
  };
}

export interface LaneView {
  readonly depth: number;
  readonly bytes: number;
  readonly oldestAgeMs: number | null;
}

export interface BacklogView {
  readonly asOfMs: number;
  /** Buffer is not reporting: these figures are its last. */
  readonly stale: boolean;
  readonly alert: LaneView;
  readonly telemetry: LaneView;
  readonly liveTelemetry: number | null;
  readonly backlogTelemetry: number | null;
}

export interface RegionView {
  readonly name: string;
  readonly active: boolean;
  readonly status: string;
  readonly reason: string | null;
  readonly connected: boolean;
  readonly latencyMs: number | null;
  readonly lastSuccessAgeMs: number | null;
  readonly deliveredRecords: number;
  readonly deliveredBatches: number;
  readonly refusedBatches: number;
  readonly failedBatches: number;
}

export interface ReplayView {
  readonly asOfMs: number;
  readonly stale: boolean;
  readonly activeRegion: string | null;
  readonly pinnedRegion: string | null;
  readonly paused: boolean;
  readonly inFlightBatches: number | null;
  readonly resentRecords: number | null;
  readonly regions: readonly RegionView[];
}

export interface DiskView {
  readonly source: 'buffer' | 'statfs';
  readonly path: string | null;
  readonly freeBytes: number;
  readonly totalBytes: number | null;
  readonly asOfMs: number;
}
