import { crc32 } from 'node:zlib';
import type { Clock } from '../clock';
import { formatRecordId, laneFromPriority } from '../record';
import { blockTally, deleteBlock, Tally } from './blocks';
import { writeGapMarker } from './eviction';
import { asideName, fileState, moveAside, relink, resolve as resolveLayout, stamp } from './layout';
import type { BlockRow, Statements } from './statements';
import type { StoreEvent, StreamGap } from './types';
import type { WriteTransactions } from './write-tx';

/** What the owner's duties need of the store handle. */
export interface OwnerContext {
  readonly stmt: Statements;
  readonly tx: WriteTransactions;
  readonly gatewayId: string;
  readonly epoch: string;
  readonly clock: Clock;
  readonly path: string;
  readonly target: string;
  readonly inode: number;
  readonly onEvent: (event: StoreEvent) => void;
}

/** What a store still holds, per stream (records of rows and of blocks), and how many. */
export interface HeldAccount {
  readonly epoch: string;
  readonly records: number;
  readonly streams: Readonly<Record<string, StreamGap>>;
}

/** Drops a damaged block in its own transaction, names what it held in a gap marker, and reports it. */
export function dropDamagedBlock(ctx: OwnerContext, block: BlockRow, reason: string): void {
  const tally = new Tally();
  try {
    tally.addAll(JSON.parse(block.summary) as Record<string, StreamGap>);
  } catch {
    // a damaged summary: the count alone
  }
  const seq = ctx.tx.run('evict', () => {
    const current = ctx.stmt.block.get(block.id);
    if (current === undefined) return null;
    deleteBlock(ctx.stmt, current);
    ctx.stmt.addCounter.run('evictedRecords', current.live);
    return writeGapMarker(ctx.stmt, ctx.gatewayId, ctx.clock.nowMs(), 'damaged', tally, {
      blockRecords: current.live,
      detail: reason.slice(0, 200),
    });
  });
  if (seq === null) return;
  ctx.onEvent({
    type: 'block-damaged',
    blockId: block.id,
    records: block.live,
    gapMarkerId: formatRecordId(ctx.gatewayId, ctx.epoch, seq),
    reason,
  });
}

/**
 * The background full check, a slice at a time: block payloads after `cursor` against their checksums
 * (reading them also walks their pages, so structural damage surfaces as STORE_CORRUPT). A damaged block
 * is dropped and named by a gap marker; the rest of the store lives on. Returns the next cursor (0 when
 * a pass is complete) and how many blocks were checked.
 */
export function checkBlocks(
  ctx: OwnerContext,
  cursor: number,
  count: number,
): { cursor: number; checked: number } {
  if (count <= 0) return { cursor, checked: 0 };
  const rows = ctx.stmt.blocksAfterId.all(cursor, count);
  let next = cursor;
  for (const b of rows) {
    next = b.id;
    if (b.payload === null) dropDamagedBlock(ctx, b, 'its payload is missing');
    else if (b.payload.length !== b.payload_bytes || crc32(b.payload) !== b.crc)
      dropDamagedBlock(ctx, b, 'its payload fails its checksum');
  }
  return { cursor: rows.length < count ? 0 : next, checked: rows.length };
}

/** Puts back the store path's link when it was removed or replaced while the data file is intact. */
export function repairLink(ctx: OwnerContext): void {
  if (ctx.target === ctx.path || fileState(ctx.path, ctx.target, ctx.inode) !== 'link-damaged') return;
  let setAsideTo: string | null = null;
  if (resolveLayout(ctx.path).kind === 'regular') {
    // The file put in place of the link was never opened by the suite: kept intact, aside.
    setAsideTo = asideName(ctx.path, 'replaced', stamp(ctx.clock.nowMs()));
    moveAside(ctx.path, setAsideTo);
  }
  relink(ctx.path, ctx.target);
  ctx.onEvent({ type: 'relinked', path: ctx.path, setAsideTo });
}

/**
 * What the store still holds, per stream: the owner's account of an epoch whose data file was deleted
 * or replaced, for the gap marker of the store that follows. Reads the record rows (the live window and
 * what waits for compaction) and the blocks' metadata; a block partly acknowledged is decoded.
 */
export function heldAccount(stmt: Statements, epoch: string): HeldAccount {
  const tally = new Tally();
  for (const r of stmt.rowTallies.all())
    tally.add(laneFromPriority(r.lane), r.stream, r.records, r.fromTsMs, r.toTsMs);
  for (const b of stmt.blockSummaries.all()) {
    const block = stmt.block.get(b.id);
    if (block !== undefined) blockTally(stmt, block, tally);
  }
  return { epoch, records: tally.records, streams: tally.streams() };
}
