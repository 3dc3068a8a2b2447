import { LANE_PRIORITY, LANES, type Lane } from '../record';
import { BLOCK_RECORDS_COUNTER, BLOCKS_COUNTER } from './blocks';
import type { QuotaView } from './quota';
import type { StoreSettings } from './settings';
import { counterName, type Statements } from './statements';
import type { LaneMetrics, StoreMetrics } from './types';

/**
 * The store's metrics from counters kept in step by every write, and index ends (oldest per lane):
 * no count over the records, so they cost the same with 17 M records as with 100 k. Only the live
 * window is counted (a range of the index as long as the live window is).
 */
export function storeMetrics(
  stmt: Statements,
  settings: StoreSettings,
  q: QuotaView,
  pagesInUseBytes: number,
  nowMs: number,
): StoreMetrics {
  const counters = new Map(stmt.counters.all().map((c) => [c.name, c.value]));
  const count = (name: string): number => counters.get(name) ?? 0;
  const lanes = {} as Record<Lane, LaneMetrics>;
  for (const lane of LANES) {
    const code = LANE_PRIORITY[lane];
    const tsRows = stmt.oldestRowTs.get(code) ?? null;
    const tsBlocks = stmt.oldestBlockTs.get(code) ?? null;
    const oldest = tsRows === null ? tsBlocks : tsBlocks === null ? tsRows : Math.min(tsRows, tsBlocks);
    lanes[lane] = {
      depth: count(counterName.depth(code)),
      bytes: count(counterName.bytes(code)),
      oldestTsMs: oldest,
      oldestAgeMs: oldest === null ? null : Math.max(0, nowMs - oldest),
    };
  }
  const byReason: Record<string, number> = {};
  for (const [name, value] of counters) {
    if (name.startsWith('deadLetter:')) byReason[name.slice('deadLetter:'.length)] = value;
  }
  return {
    lanes,
    liveTelemetryDepth: stmt.liveDepth.get(nowMs - settings.liveWindowMs) ?? 0,
    usedBytes: pagesInUseBytes,
    fileBytes: q.fileBytes,
    walBytes: q.walBytes,
    bytesAtRest: q.usedBytes,
    maxStoreBytes: settings.maxStoreBytes,
    effectiveLimitBytes: q.limitBytes,
    diskBound: q.diskBound,
    blocks: count(BLOCKS_COUNTER),
    recordsInBlocks: count(BLOCK_RECORDS_COUNTER),
    compactedRecordsTotal: count('compactedRecords'),
    appendedTotal: count('appended'),
    acknowledgedTotal: count('acknowledged'),
    evictedRecordsTotal: count('evictedRecords'),
    evictionRoundsTotal: count('evictionRounds'),
    deadLettersTotal: count('deadLetters'),
    deadLettersStored: count('deadLetters') - count('deadLettersDropped'),
    deadLettersDroppedTotal: count('deadLettersDropped'),
    deadLettersByReason: byReason,
  };
}
