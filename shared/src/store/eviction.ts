import type Database from 'better-sqlite3';
import { LANE_PRIORITY, LANES, type JsonObject, type Lane } from '../record';
import type { EvictionReport, StreamGap } from './types';

import { GAP_MARKER_STREAM } from '../gap-markers';

export { GAP_MARKER_STREAM };

interface EvictionDeps {
  readonly db: Database.Database;
  readonly insertRecord: Database.Statement<[number, string, string, number, string, number]>;
  readonly addCounter: Database.Statement<[string, number]>;
  readonly usedBytes: () => number;
  readonly targetBytes: number;
  readonly gatewayId: string;
  readonly idPrefix: string;
  readonly nowMs: number;
}

interface CandidateRow {
  seq: number;
  stream: string;
  ts_ms: number;
  size_bytes: number;
  body: string;
}

const MAX_PASSES = 32;

class GapTally {
  readonly byStream = new Map<string, { lane: Lane; records: number; fromTsMs: number; toTsMs: number }>();
  /** Records described by the new marker, including those carried over from folded markers. */
  evicted = 0;
  /** Records deleted in this round (not counting carried-over ones): what the counters add. */
  fresh = 0;
  foldedMarkers = 0;

  add(stream: string, lane: Lane, records: number, fromTsMs: number, toTsMs: number): void {
    const key = `${lane}:${stream}`;
    const g = this.byStream.get(key);
    if (g === undefined) this.byStream.set(key, { lane, records, fromTsMs, toTsMs });
    else {
      g.records += records;
      g.fromTsMs = Math.min(g.fromTsMs, fromTsMs);
      g.toTsMs = Math.max(g.toTsMs, toTsMs);
    }
    this.evicted += records;
  }

  /** An evicted gap marker's own tally moves into the new marker, so its news is not lost with it. */
  fold(markerBody: string): void {
    this.foldedMarkers += 1;
    const body = JSON.parse(markerBody) as { streams?: Record<string, StreamGap & { stream?: string }> };
    for (const [key, g] of Object.entries(body.streams ?? {})) {
      const stream = key.includes(':') ? key.slice(key.indexOf(':') + 1) : key;
      this.add(stream, g.lane, g.records, g.fromTsMs, g.toTsMs);
    }
  }

  streams(): Record<string, StreamGap> {
    const out: Record<string, StreamGap> = {};
    for (const [key, g] of this.byStream) out[key] = { ...g };
    return out;
  }
}

/**
 * One eviction round inside the caller's write transaction: deletes the oldest telemetry first, then the
 * oldest alerts, until the used bytes fall to the target, and writes one gap marker naming what went.
 */
export function evictionRound(deps: EvictionDeps): EvictionReport | null {
  const { db } = deps;
  const usedBefore = deps.usedBytes();
  const totals = db.prepare<[], { n: number; bytes: number }>(
    'SELECT count(*) AS n, total(size_bytes) AS bytes FROM records',
  );
  const oldest = db.prepare<[number, number], CandidateRow>(
    'SELECT seq, stream, ts_ms, size_bytes, body FROM records WHERE lane = ? ORDER BY ts_ms, seq LIMIT ?',
  );
  const del = db.prepare<[number]>('DELETE FROM records WHERE seq = ?');
  const tally = new GapTally();

  for (let pass = 0; pass < MAX_PASSES; pass++) {
    const used = deps.usedBytes();
    if (used <= deps.targetBytes) break;
    const t = totals.get() ?? { n: 0, bytes: 0 };
    if (t.n === 0) break;
    // Record sizes undercount pages (indexes, free space inside pages): scale by the observed ratio.
    const diskPerRecordByte = t.bytes > 0 ? used / t.bytes : 1;
    let toFree = (used - deps.targetBytes) / diskPerRecordByte;
    let deletedThisPass = 0;
    for (const lane of LANES.slice().reverse()) {
      // Telemetry (bulk) goes first, alerts last.
      while (toFree > 0) {
        const rows = oldest.all(LANE_PRIORITY[lane], 512);
        if (rows.length === 0) break;
        for (const row of rows) {
          if (toFree <= 0) break;
          del.run(row.seq);
          deletedThisPass += 1;
          toFree -= row.size_bytes;
          if (lane === 'alert' && row.stream === GAP_MARKER_STREAM) tally.fold(row.body);
          else {
            tally.add(row.stream, lane, 1, row.ts_ms, row.ts_ms);
            tally.fresh += 1;
          }
        }
      }
      if (toFree <= 0) break;
    }
    if (deletedThisPass === 0) break;
  }

  if (tally.evicted === 0 && tally.foldedMarkers === 0) return null;
  const streams = tally.streams();
  const gaps = Object.values(streams);
  const fromTsMs = Math.min(...gaps.map((g) => g.fromTsMs));
  const toTsMs = Math.max(...gaps.map((g) => g.toTsMs));
  const usedAfter = deps.usedBytes();
  const body: JsonObject = {
    kind: 'gap',
    reason: 'quota',
    evictedRecords: tally.evicted,
    foldedGapMarkers: tally.foldedMarkers,
    fromTsMs,
    toTsMs,
    streams: streams as unknown as JsonObject,
    usedBytesBefore: usedBefore,
    usedBytesAfter: usedAfter,
  };
  const bodyJson = JSON.stringify(body);
  const seq = Number(
    deps.insertRecord.run(
      LANE_PRIORITY.alert,
      GAP_MARKER_STREAM,
      deps.gatewayId,
      deps.nowMs,
      bodyJson,
      Buffer.byteLength(bodyJson) + GAP_MARKER_STREAM.length + deps.gatewayId.length + 64,
    ).lastInsertRowid,
  );
  deps.addCounter.run('evictedRecords', tally.fresh);
  deps.addCounter.run('evictionRounds', 1);
  return {
    evictedRecords: tally.fresh,
    byStream: streams,
    fromTsMs,
    toTsMs,
    usedBytesBefore: usedBefore,
    usedBytesAfter: usedAfter,
    gapMarkerId: `${deps.idPrefix}:${seq}`,
  };
}
