import { LANE_PRIORITY } from '../record';
import { deleteBlock, encodeBlock, insertBlock, moveRows, type BuiltBlock } from './blocks';
import type { RecordRow, Statements } from './statements';
import type { StoreSettings } from './settings';

/** Rows read per compaction step (a block holds a few thousand SKAB-like readings). */
const SCAN_ROWS = 20_000;
/** A block is accepted once it fills this share of maxBlockBytes (or takes every candidate). */
const GOOD_FILL = 0.85;

export const COMPACTED_THROUGH_KEY = 'compactedThroughSeq';
/** The block whose rows are being moved into it, if any (moves span several transactions). */
export const COMPACTING_BLOCK_KEY = 'compactingBlock';

export interface CompactionState {
  /** Payload bytes per record of the last block, to size the next one at the first try. */
  bytesPerRecord: number;
}

export interface CompactionResult {
  readonly blockId: number | null;
  readonly records: number;
  readonly payloadBytes: number;
  /** More candidates wait: call again. */
  readonly more: boolean;
}

/**
 * Picks the next block's rows: telemetry after the compaction cursor, in sequence order, older than the
 * live window; alert rows in between stay rows (they drain first and are never compacted). The prefix
 * stops at the first telemetry row still live, so every telemetry row before the cursor is in a block.
 */
function candidates(
  stmt: Statements,
  after: number,
  cutoffMs: number,
): { rows: RecordRow[]; complete: boolean } {
  const scanned = stmt.recordsAfter.all(after, SCAN_ROWS);
  const rows: RecordRow[] = [];
  for (const r of scanned) {
    if (r[1] !== LANE_PRIORITY.telemetry) continue;
    if (r[4] >= cutoffMs) return { rows, complete: true };
    rows.push(r);
  }
  return { rows, complete: scanned.length < SCAN_ROWS };
}

/** Chooses how many candidates fill a block, encoding at most a few times. */
function buildBlock(
  rows: readonly RecordRow[],
  maxBytes: number,
  state: CompactionState,
  encode: (rows: readonly RecordRow[]) => BuiltBlock['envelope'],
): BuiltBlock | null {
  let n = Math.min(rows.length, Math.max(1, Math.floor((maxBytes * 0.95) / state.bytesPerRecord)));
  let best: BuiltBlock | null = null;
  let tooBig = rows.length + 1;
  for (let attempt = 0; attempt < 4 && n > 0 && n < tooBig; attempt++) {
    const slice = rows.slice(0, n);
    const envelope = encode(slice);
    state.bytesPerRecord = Math.max(0.5, envelope.payload.length / n);
    if (envelope.payload.length <= maxBytes) {
      if (best === null || n > best.rows.length) best = { rows: slice, envelope };
      if (n === rows.length || envelope.payload.length >= GOOD_FILL * maxBytes) break;
      n = Math.min(rows.length, tooBig - 1, Math.floor((maxBytes * 0.95) / state.bytesPerRecord));
    } else {
      tooBig = n;
      n = Math.min(n - 1, Math.floor((maxBytes * 0.95) / state.bytesPerRecord));
    }
  }
  return best;
}

export interface CompactionDeps {
  readonly stmt: Statements;
  readonly settings: StoreSettings;
  readonly gatewayId: string;
  readonly epoch: string;
  readonly idPrefix: string;
  readonly nowMs: number;
  readonly state: CompactionState;
  /** Runs the commit in a write transaction. */
  readonly write: <T>(fn: () => T) => T;
}

/** Moves the next chunk of rows into the block being filled; true when none is left to fill. */
function continueBlock(deps: CompactionDeps): { done: boolean; moved: number } {
  const { stmt } = deps;
  return deps.write(() => {
    const id = Number(stmt.getMeta.get(COMPACTING_BLOCK_KEY) ?? '0');
    if (id === 0) return { done: true, moved: 0 };
    const block = stmt.block.get(id);
    if (block === undefined) {
      // Evicted while it was being filled: the rows not moved yet stay rows, for a later block.
      stmt.setMeta.run(COMPACTING_BLOCK_KEY, '0');
      return { done: true, moved: 0 };
    }
    const before = block.live;
    const finished = moveRows(stmt, block);
    const after = stmt.block.get(id) ?? block;
    stmt.setMeta.run(COMPACTED_THROUGH_KEY, String(after.rows_until));
    if (finished) {
      stmt.setMeta.run(COMPACTING_BLOCK_KEY, '0');
      if (after.live === 0) deleteBlock(stmt, after);
    }
    return { done: finished, moved: after.live - before };
  });
}

/**
 * One compaction step, each part a short write transaction: either the next chunk of rows moves into
 * the block being filled, or a new block is built from rows read without a lock (telemetry older than
 * the live window, in sequence order) and inserted, holding none of them yet. Records keep their ids
 * and order; leases held by readers in other processes still apply (leases are by sequence).
 */
export function compactStep(deps: CompactionDeps): CompactionResult {
  const { stmt, settings } = deps;
  const none: CompactionResult = { blockId: null, records: 0, payloadBytes: 0, more: false };
  if (Number(stmt.getMeta.get(COMPACTING_BLOCK_KEY) ?? '0') !== 0) {
    // More afterwards in any case: either this block's next rows, or the next block.
    const { moved } = continueBlock(deps);
    return { ...none, records: moved, more: true };
  }
  const c = settings.compaction;
  const after = Number(stmt.getMeta.get(COMPACTED_THROUGH_KEY) ?? '0');
  const cutoff = deps.nowMs - settings.liveWindowMs;
  const { rows, complete } = candidates(stmt, after, cutoff);
  if (rows.length < c.minBlockRecords) return none;
  // Wait for a full block's worth (bigger blocks compress better), unless the oldest has waited long.
  const fullBlock = Math.floor((c.maxBlockBytes * 0.95) / deps.state.bytesPerRecord);
  const oldestTs = Math.min(...rows.slice(0, 1000).map((r) => r[4]));
  if (rows.length < fullBlock && complete && oldestTs >= cutoff - c.maxWaitMs) return none;
  const block = buildBlock(rows, c.maxBlockBytes, deps.state, (slice) =>
    encodeBlock(deps.gatewayId, deps.epoch, deps.idPrefix, slice),
  );
  if (block === null) return none;
  const blockId = deps.write(() => {
    // Another process may have compacted meanwhile (only the owner compacts, but be safe).
    if (Number(stmt.getMeta.get(COMPACTED_THROUGH_KEY) ?? '0') !== after) return null;
    if (Number(stmt.getMeta.get(COMPACTING_BLOCK_KEY) ?? '0') !== 0) return null;
    const id = insertBlock(stmt, block, after);
    stmt.setMeta.run(COMPACTING_BLOCK_KEY, String(id));
    return id;
  });
  if (blockId === null) return none;
  return { blockId, records: 0, payloadBytes: block.envelope.payload.length, more: true };
}
