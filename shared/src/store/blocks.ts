import { crc32 } from 'node:zlib';
import { decodeEnvelope, decodeEnvelopeHeads, encodeColumnarEnvelope, type Envelope } from '../envelope';
import { laneFromPriority, type DrRecord, type JsonObject, type Lane } from '../record';
import { counterName, type BlockRow, type RecordRow, type Statements } from './statements';
import type { StoredRecord, StreamGap } from './types';

export const BLOCKS_COUNTER = 'blocks';
export const BLOCK_RECORDS_COUNTER = 'blockRecords';

/** Sequences of a block as [first, length] runs: blocks hold mostly consecutive sequences. */
export type SeqRuns = [number, number][];

export function seqRuns(seqs: readonly number[]): SeqRuns {
  const runs: SeqRuns = [];
  for (const seq of seqs) {
    const last = runs[runs.length - 1];
    if (last !== undefined && last[0] + last[1] === seq) last[1] += 1;
    else runs.push([seq, 1]);
  }
  return runs;
}

export function inRuns(runs: SeqRuns, seq: number): boolean {
  let lo = 0;
  let hi = runs.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const [start, length] = runs[mid] as [number, number];
    if (seq < start) hi = mid - 1;
    else if (seq >= start + length) lo = mid + 1;
    else return true;
  }
  return false;
}

/** Per `lane:stream`: how many records and their time range (the shape of a gap marker's streams). */
export class Tally {
  readonly byStream = new Map<string, StreamGap>();
  records = 0;

  add(lane: Lane, stream: string, records: number, fromTsMs: number, toTsMs: number): void {
    const key = `${lane}:${stream}`;
    const g = this.byStream.get(key);
    this.byStream.set(
      key,
      g === undefined
        ? { lane, records, fromTsMs, toTsMs }
        : {
            lane,
            records: g.records + records,
            fromTsMs: Math.min(g.fromTsMs, fromTsMs),
            toTsMs: Math.max(g.toTsMs, toTsMs),
          },
    );
    this.records += records;
  }

  addAll(streams: Readonly<Record<string, StreamGap>>): void {
    for (const [key, g] of Object.entries(streams)) {
      const stream = key.includes(':') ? key.slice(key.indexOf(':') + 1) : key;
      this.add(g.lane, stream, g.records, g.fromTsMs, g.toTsMs);
    }
  }

  streams(): Record<string, StreamGap> {
    return Object.fromEntries(this.byStream);
  }

  get fromTsMs(): number {
    return Math.min(...[...this.byStream.values()].map((g) => g.fromTsMs));
  }

  get toTsMs(): number {
    return Math.max(...[...this.byStream.values()].map((g) => g.toTsMs));
  }
}

export function rowToRecord(idPrefix: string, row: RecordRow): StoredRecord {
  const [seq, lane, stream, deviceId, tsMs, body, sizeBytes] = row;
  return {
    id: `${idPrefix}:${seq}`,
    seq,
    stream,
    lane: laneFromPriority(lane),
    deviceId,
    tsMs,
    body: JSON.parse(body) as JsonObject,
    sizeBytes,
  };
}

export interface BuiltBlock {
  readonly rows: readonly RecordRow[];
  readonly envelope: Envelope;
}

/** The block's batch id: stable, so a block sent twice is recognisably the same batch upstream. */
export function blockBatchId(epoch: string, firstSeq: number): string {
  return `blk-${epoch}-${firstSeq}`;
}

/** Encodes rows (telemetry, in sequence order) as one block: an envelope v2 payload. */
export function encodeBlock(
  gatewayId: string,
  epoch: string,
  idPrefix: string,
  rows: readonly RecordRow[],
): Envelope {
  const records: DrRecord[] = rows.map((r) => rowToRecord(idPrefix, r));
  return encodeColumnarEnvelope(gatewayId, records, blockBatchId(epoch, (rows[0] as RecordRow)[0]));
}

/** Rows moved from the record table into a block per write transaction (keeps each one short). */
export const MOVE_ROWS_PER_TX = 1_000;

/**
 * Inside the caller's write transaction: inserts a block built from rows, holding none of them yet
 * (rows_until = `after`); moveRows then moves the rows into it a chunk at a time.
 */
export function insertBlock(stmt: Statements, block: BuiltBlock, after: number): number {
  const seqs = block.rows.map((r) => r[0]);
  const rawBytes = block.rows.reduce((n, r) => n + r[6], 0);
  const tally = new Tally();
  let minTs = Number.POSITIVE_INFINITY;
  let maxTs = 0;
  for (const r of block.rows) {
    tally.add(laneFromPriority(r[1]), r[2], 1, r[4], r[4]);
    if (r[4] < minTs) minTs = r[4];
    if (r[4] > maxTs) maxTs = r[4];
  }
  const payload = block.envelope.payload;
  const id = Number(
    stmt.insertBlock.run(
      (block.rows[0] as RecordRow)[1],
      seqs[0] as number,
      seqs[seqs.length - 1] as number,
      minTs,
      maxTs,
      seqs.length,
      after,
      rawBytes,
      payload.length,
      crc32(payload),
      JSON.stringify(seqRuns(seqs)),
      JSON.stringify(tally.streams()),
    ).lastInsertRowid,
  );
  stmt.insertBlockData.run(id, payload);
  stmt.addCounter.run(BLOCKS_COUNTER, 1);
  return id;
}

/**
 * Inside the caller's write transaction: moves the block's next rows (up to MOVE_ROWS_PER_TX) out of the
 * record table into it. A row acknowledged or evicted since the block was built is already gone: the
 * block marks it acknowledged, so it is never sent again. Returns true once every row has moved.
 */
export function moveRows(stmt: Statements, block: BlockRow): boolean {
  const runs = JSON.parse(block.seq_runs) as SeqRuns;
  const members: number[] = [];
  for (const [start, length] of runs) {
    for (
      let s = Math.max(start, block.rows_until + 1);
      s < start + length && members.length < MOVE_ROWS_PER_TX;
      s++
    )
      members.push(s);
    if (members.length >= MOVE_ROWS_PER_TX) break;
  }
  if (members.length === 0) return true;
  const until = members[members.length - 1] as number;
  // Every telemetry row in the range is the block's (they were all candidates): a range delete on the rowid.
  const deleted = stmt.deleteTelemetryRange.all(block.rows_until, until);
  const present = new Set<number>();
  let bytes = 0;
  for (const [seq, , size] of deleted) {
    present.add(seq);
    bytes += size;
  }
  const wanted = new Set(members);
  for (const seq of present)
    if (!wanted.has(seq))
      throw new Error(`compaction: row ${seq} is in the block's range but not in the block`);
  for (const seq of members) if (!present.has(seq)) stmt.insertBlockAck.run(seq, block.id);
  stmt.advanceBlock.run(until, present.size, bytes, block.id);
  stmt.addCounter.run('compactedRecords', present.size);
  stmt.addCounter.run(BLOCK_RECORDS_COUNTER, present.size);
  return until >= block.last_seq;
}

/** Deletes a block with its payload and record acks; the lane counters lose what it still held. */
export function deleteBlock(
  stmt: Statements,
  block: Pick<BlockRow, 'id' | 'lane' | 'live' | 'live_bytes'>,
): void {
  stmt.deleteBlock.run(block.id);
  stmt.deleteBlockData.run(block.id);
  stmt.deleteBlockAcks.run(block.id);
  stmt.addCounter.run(BLOCKS_COUNTER, -1);
  stmt.addCounter.run(BLOCK_RECORDS_COUNTER, -block.live);
  stmt.addCounter.run(counterName.depth(block.lane), -block.live);
  stmt.addCounter.run(counterName.bytes(block.lane), -block.live_bytes);
}

/** Of a block's records (or their heads), in block order, those that are not acknowledged yet. */
function stillHeld<T extends { readonly id: string }>(
  stmt: Statements,
  block: BlockRow,
  items: readonly T[],
): { item: T; seq: number }[] {
  const acked = block.live < block.count ? new Set(stmt.blockAcks.all(block.id)) : null;
  const out: { item: T; seq: number }[] = [];
  for (const item of items) {
    const seq = Number(item.id.slice(item.id.lastIndexOf(':') + 1));
    // Not moved yet (still a row), or acknowledged one by one.
    if (seq > block.rows_until || (acked !== null && acked.has(seq))) continue;
    out.push({ item, seq });
  }
  return out;
}

function payloadOf(stmt: Statements, block: BlockRow): Buffer {
  const payload = stmt.blockPayload.get(block.id);
  if (payload === undefined) throw new Error(`block ${block.id} has no payload`);
  return payload;
}

/** The records of a block that are not acknowledged yet, in block order. */
export function blockRecords(stmt: Statements, block: BlockRow): StoredRecord[] {
  const { records } = decodeEnvelope(payloadOf(stmt, block), { maxRecords: block.count });
  const sizeBytes = Math.max(1, Math.round(block.raw_bytes / block.count));
  return stillHeld(stmt, block, records).map(({ item, seq }) => ({ ...item, seq, sizeBytes }));
}

/** What a block still holds, per stream (for a gap marker when it is evicted or lost). */
export function blockTally(stmt: Statements, block: BlockRow, tally: Tally): void {
  if (block.live === block.count && block.rows_until >= block.last_seq) {
    tally.addAll(JSON.parse(block.summary) as Record<string, StreamGap>);
    return;
  }
  try {
    // Heads only, no bodies: this runs inside eviction's write transaction.
    const { heads } = decodeEnvelopeHeads(payloadOf(stmt, block), { maxRecords: block.count });
    for (const { item } of stillHeld(stmt, block, heads))
      tally.add(item.lane, item.stream, 1, item.tsMs, item.tsMs);
  } catch {
    // Undecodable: name what it held when it was written (an over-report, never a silent loss).
    tally.addAll(JSON.parse(block.summary) as Record<string, StreamGap>);
  }
}

/**
 * Inside the caller's write transaction: acknowledges records that live in blocks, one by one (the
 * record-level API). Returns the sequences that are in no block (or were acknowledged before).
 */
export function ackInBlocks(stmt: Statements, seqs: readonly number[]): number[] {
  const missing: number[] = [];
  const touched = new Map<number, { block: BlockRow; runs: SeqRuns; acked: number }>();
  let current: { block: BlockRow; runs: SeqRuns; acked: number } | undefined;
  for (const seq of [...seqs].sort((a, b) => a - b)) {
    if (current === undefined || seq > current.block.last_seq) {
      const block = stmt.blockCovering.get(seq);
      if (block === undefined) {
        missing.push(seq);
        continue;
      }
      current = touched.get(block.id) ?? { block, runs: JSON.parse(block.seq_runs) as SeqRuns, acked: 0 };
      touched.set(block.id, current);
    }
    const { block, runs } = current;
    if (
      seq < block.first_seq ||
      seq > block.rows_until ||
      !inRuns(runs, seq) ||
      stmt.insertBlockAck.run(seq, block.id).changes === 0
    ) {
      missing.push(seq);
      continue;
    }
    current.acked += 1;
  }
  for (const { block, acked } of touched.values()) {
    if (acked === 0) continue;
    if (acked >= block.live && block.rows_until >= block.last_seq) {
      deleteBlock(stmt, block);
      continue;
    }
    const each = Math.floor(block.raw_bytes / block.count);
    const bytes = Math.min(block.live_bytes, acked * each);
    stmt.updateBlockLive.run(acked, bytes, block.id);
    stmt.addCounter.run(BLOCK_RECORDS_COUNTER, -acked);
    stmt.addCounter.run(counterName.depth(block.lane), -acked);
    stmt.addCounter.run(counterName.bytes(block.lane), -bytes);
  }
  return missing;
}
