import { LANE_PRIORITY, laneFromPriority, type JsonObject } from '../record';
import { blockTally, deleteBlock, Tally } from './blocks';
import { counterName, type Statements } from './statements';
import type { EvictionReport, StreamGap } from './types';

import { GAP_MARKER_STREAM } from '../gap-markers';

export { GAP_MARKER_STREAM };

const ROWS_PER_STEP = 256;

export interface ChunkLimits {
  /** Stop once the chunk has held the write lock this long (checked after each step). */
  readonly budgetMs: number;
  readonly maxBlocks: number;
  readonly maxRows: number;
}

/** Bounds one eviction chunk so that a write transaction stays well under 100 ms. */
export const DEFAULT_CHUNK: ChunkLimits = { budgetMs: 25, maxBlocks: 32, maxRows: 2_048 };

export interface EvictionDeps {
  readonly stmt: Statements;
  /** Bytes of pages in use now (read again after every step, inside the transaction). */
  readonly pagesInUse: () => number;
  readonly targetBytes: number;
  readonly gatewayId: string;
  readonly idPrefix: string;
  readonly nowMs: number;
  readonly reason: 'quota' | 'disk';
  readonly limits?: ChunkLimits;
}

function insertMarker(stmt: Statements, gatewayId: string, nowMs: number, body: JsonObject): number {
  const bodyJson = JSON.stringify(body);
  const size = Buffer.byteLength(bodyJson) + GAP_MARKER_STREAM.length + gatewayId.length + 64;
  const seq = Number(
    stmt.insertRecord.run(LANE_PRIORITY.alert, GAP_MARKER_STREAM, gatewayId, nowMs, bodyJson, size)
      .lastInsertRowid,
  );
  stmt.addCounter.run(counterName.depth(LANE_PRIORITY.alert), 1);
  stmt.addCounter.run(counterName.bytes(LANE_PRIORITY.alert), size);
  return seq;
}

/**
 * Writes a gap marker naming what is gone, inside the caller's transaction, for events other than the
 * quota (a damaged block, a lost store epoch). Returns its sequence.
 */
export function writeGapMarker(
  stmt: Statements,
  gatewayId: string,
  nowMs: number,
  reason: string,
  tally: Tally,
  extra: JsonObject = {},
): number {
  const streams = tally.streams();
  const known = tally.byStream.size > 0;
  return insertMarker(stmt, gatewayId, nowMs, {
    kind: 'gap',
    reason,
    evictedRecords: tally.records,
    ...(known ? { fromTsMs: tally.fromTsMs, toTsMs: tally.toTsMs } : {}),
    streams: streams as unknown as JsonObject,
    ...extra,
  });
}

/**
 * One eviction chunk inside the caller's write transaction: deletes the oldest telemetry first (whole
 * blocks, or rows, whichever is older), then the oldest alerts, until the pages in use fall to the
 * target or the chunk's bounds are reached, and writes one gap marker naming what went. The marker is
 * computed from what was deleted (block summaries, deleted rows), never from a scan of the store. An
 * evicted gap marker's counts fold into the new one, so news of a gap is never lost with it.
 */
export function evictChunk(deps: EvictionDeps): EvictionReport | null {
  const { stmt } = deps;
  const limits = deps.limits ?? DEFAULT_CHUNK;
  const usedBefore = deps.pagesInUse();
  const started = performance.now();
  const tally = new Tally();
  let fresh = 0;
  let folded = 0;
  let blocks = 0;
  let rows = 0;
  const telemetry = LANE_PRIORITY.telemetry;
  while (
    deps.pagesInUse() > deps.targetBytes &&
    performance.now() - started < limits.budgetMs &&
    blocks < limits.maxBlocks &&
    rows < limits.maxRows
  ) {
    const rowTs = stmt.oldestRowTs.get(telemetry) ?? null;
    const blockTs = stmt.oldestBlockTs.get(telemetry) ?? null;
    if (blockTs !== null && (rowTs === null || blockTs <= rowTs)) {
      const block = stmt.blocksFrom.get(telemetry, -1, -1, 1);
      if (block === undefined) break;
      blockTally(stmt, block, tally);
      deleteBlock(stmt, block);
      fresh += block.live;
      blocks += 1;
      continue;
    }
    const lane = rowTs !== null ? telemetry : LANE_PRIORITY.alert;
    const batch = stmt.oldestRows.all(lane, ROWS_PER_STEP);
    if (batch.length === 0) break;
    const deleted = stmt.deleteRecords.all(JSON.stringify(batch.map((r) => r[0])));
    let bytes = 0;
    for (const [, , size] of deleted) bytes += size;
    stmt.addCounter.run(counterName.depth(lane), -deleted.length);
    stmt.addCounter.run(counterName.bytes(lane), -bytes);
    for (const [, laneCode, stream, , tsMs, body] of batch) {
      if (laneCode === LANE_PRIORITY.alert && stream === GAP_MARKER_STREAM) {
        folded += 1;
        const marker = JSON.parse(body) as { streams?: Record<string, StreamGap> };
        tally.addAll(marker.streams ?? {});
      } else {
        tally.add(laneFromPriority(laneCode), stream, 1, tsMs, tsMs);
        fresh += 1;
      }
    }
    rows += batch.length;
  }
  if (tally.records === 0 && folded === 0) return null;
  const streams = tally.streams();
  const usedAfter = deps.pagesInUse();
  const known = tally.byStream.size > 0;
  const fromTsMs = known ? tally.fromTsMs : deps.nowMs;
  const toTsMs = known ? tally.toTsMs : deps.nowMs;
  const seq = insertMarker(stmt, deps.gatewayId, deps.nowMs, {
    kind: 'gap',
    reason: deps.reason,
    evictedRecords: tally.records,
    foldedGapMarkers: folded,
    fromTsMs,
    toTsMs,
    streams: streams as unknown as JsonObject,
    usedBytesBefore: usedBefore,
    usedBytesAfter: usedAfter,
  });
  stmt.addCounter.run('evictedRecords', fresh);
  stmt.addCounter.run('evictionRounds', 1);
  return {
    reason: deps.reason,
    evictedRecords: fresh,
    byStream: streams,
    fromTsMs,
    toTsMs,
    usedBytesBefore: usedBefore,
    usedBytesAfter: usedAfter,
    gapMarkerId: `${deps.idPrefix}:${seq}`,
  };
}
