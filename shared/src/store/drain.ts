import { columnarEnvelopeOf, packEnvelopes, type Envelope, type EnvelopeVersion } from '../envelope';
import { LANE_PRIORITY, laneFromPriority, type Lane } from '../record';
import { blockRecords, inRuns, rowToRecord, type SeqRuns } from './blocks';
import type { BlockRow, RecordRow, Statements } from './statements';
import type { StoredRecord } from './types';

type DrainQueries = Statements['drain']['free'];

/** The backlog in drain order: blocks and rows older than the live window, merged by time. */
export class Backlog {
  private rows: RecordRow[] = [];
  private blocks: BlockRow[] = [];
  private rowPos: [number, number] = [-1, -1];
  private blockPos: [number, number] = [-1, -1];
  private rowsDone = false;
  private blocksDone = false;

  constructor(
    private readonly stmt: Statements,
    private readonly q: DrainQueries,
    private readonly liveFromMs: number,
  ) {}

  private peekRow(): RecordRow | undefined {
    if (this.rows.length === 0 && !this.rowsDone) {
      this.rows = this.q.backlog.all(this.liveFromMs, this.rowPos[0], this.rowPos[1], 256);
      this.rowsDone = this.rows.length === 0;
    }
    return this.rows[0];
  }

  private peekBlock(): BlockRow | undefined {
    if (this.blocks.length === 0 && !this.blocksDone) {
      this.blocks = this.stmt.blocksFrom.all(LANE_PRIORITY.telemetry, this.blockPos[0], this.blockPos[1], 8);
      this.blocksDone = this.blocks.length === 0;
    }
    return this.blocks[0];
  }

  next(): { row: RecordRow } | { block: BlockRow } | null {
    const row = this.peekRow();
    const block = this.peekBlock();
    if (block !== undefined && (row === undefined || block.min_ts_ms <= row[4])) {
      this.blocks.shift();
      this.blockPos = [block.min_ts_ms, block.first_seq];
      return { block };
    }
    if (row === undefined) return null;
    this.rows.shift();
    this.rowPos = [row[4], row[0]];
    return { row };
  }
}

/** Decodes blocks for record-level reads, remembering the last one (a batch often ends inside it). */
export class BlockReader {
  private cache: { id: number; live: number; records: StoredRecord[] } | null = null;

  constructor(
    private readonly stmt: Statements,
    private readonly onDamaged: (block: BlockRow, err: unknown) => void,
  ) {}

  /** The block's records not acknowledged and not leased by this handle, or null if it is damaged. */
  available(block: BlockRow): StoredRecord[] | null {
    let records: StoredRecord[];
    if (this.cache !== null && this.cache.id === block.id && this.cache.live === block.live) {
      records = this.cache.records;
    } else {
      try {
        records = blockRecords(this.stmt, block);
      } catch (err) {
        this.onDamaged(block, err);
        return null;
      }
      this.cache = { id: block.id, live: block.live, records };
    }
    const leased = this.leasedIn(block);
    return leased.size === 0 ? records : records.filter((r) => !leased.has(r.seq));
  }

  /** Sequences of this block leased by this handle (record-level reads of it in flight). */
  leasedIn(block: BlockRow): Set<number> {
    const seqs = this.stmt.leasedInRange.all(block.first_seq, block.last_seq);
    if (seqs.length === 0) return new Set();
    const runs = JSON.parse(block.seq_runs) as SeqRuns;
    return new Set(seqs.filter((s) => inRuns(runs, s)));
  }
}

export interface DrainContext {
  readonly stmt: Statements;
  readonly idPrefix: string;
  readonly liveFromMs: number;
  readonly blocks: BlockReader;
}

function queries(stmt: Statements): DrainQueries {
  return (stmt.leaseCount.get() ?? 0) === 0 ? stmt.drain.free : stmt.drain.leased;
}

/**
 * Records in drain order (alerts, live telemetry, then the backlog of blocks and rows oldest-first),
 * bounded by count and bytes, at least one record.
 */
export function readRecords(ctx: DrainContext, maxRecords: number, maxBytes: number): StoredRecord[] {
  const { stmt, idPrefix } = ctx;
  const out: StoredRecord[] = [];
  let bytes = 0;
  /** False once the batch is full. */
  const take = (r: StoredRecord): boolean => {
    if (out.length >= maxRecords || (out.length > 0 && bytes + r.sizeBytes > maxBytes)) return false;
    bytes += r.sizeBytes;
    out.push(r);
    return true;
  };
  const takeRows = (rows: readonly RecordRow[]): boolean => {
    for (const row of rows) if (!take(rowToRecord(idPrefix, row))) return false;
    return out.length < maxRecords;
  };
  const q = queries(stmt);
  if (!takeRows(q.alert.all(maxRecords))) return out;
  if (!takeRows(q.live.all(ctx.liveFromMs, maxRecords - out.length))) return out;
  const backlog = new Backlog(stmt, q, ctx.liveFromMs);
  for (let item = backlog.next(); item !== null; item = backlog.next()) {
    if ('row' in item) {
      if (!take(rowToRecord(idPrefix, item.row))) break;
      continue;
    }
    if ((stmt.blockLeased.get(item.block.id) ?? 0) > 0) continue;
    const records = ctx.blocks.available(item.block);
    if (records === null) continue;
    let full = false;
    for (const r of records) {
      if (!take(r)) {
        full = true;
        break;
      }
    }
    if (full || out.length >= maxRecords) break;
  }
  return out;
}

export interface EnvelopeRequest {
  /** Envelopes wanted (e.g. the free in-flight slots); a read may return one more (a whole block). */
  readonly maxEnvelopes: number;
  /** The publish limit: a block larger than this is re-encoded into smaller envelopes. */
  readonly maxEnvelopeBytes: number;
  /** Encoding of envelopes made from rows: 2 (columnar, the default) or 1 (JSON). Blocks are v2. */
  readonly version?: EnvelopeVersion;
  /** Records read from rows per class at most (bounds one read's memory). */
  readonly maxRecords?: number;
}

/** One publish ready to go, and what acknowledging it deletes. */
export interface ReadyEnvelope {
  /** Pass to ackEnvelopes after the PUBACK, or to releaseEnvelopes on failure. */
  readonly unitId: string;
  /** `block`: a compacted block sent as stored; `records`: records packed for this read. */
  readonly source: 'block' | 'records';
  readonly lane: Lane;
  readonly envelope: Envelope;
  readonly count: number;
  /** The records' stored size (the unit of the record-level API's byte bounds). */
  readonly plainBytes: number;
  /** The records, for units packed from records (not for blocks sent as stored). */
  readonly records?: readonly StoredRecord[];
}

/** What acknowledging a unit deletes. */
export type UnitTarget =
  | { readonly kind: 'block'; readonly block: BlockRow }
  | { readonly kind: 'records'; readonly seqs: readonly number[] };

export interface EnvelopeReadContext extends DrainContext {
  readonly gatewayId: string;
  /** Leases a unit to this handle and names it. */
  readonly register: (target: UnitTarget) => string;
  /** v2 payload bytes per record seen lately, to size packs at the first try. */
  readonly bytesPerRecordHint: number;
}

/**
 * Ready-to-send envelopes in drain order: alerts, live telemetry, then the backlog, where a block that
 * is whole (nothing in it acknowledged or leased record by record) and fits is sent as it was stored,
 * without re-encoding. Records are packed into envelopes of `version`. Nothing is leased here; the
 * caller leases what it returns.
 */
export function readEnvelopes(ctx: EnvelopeReadContext, request: EnvelopeRequest): ReadyEnvelope[] {
  const { stmt, idPrefix } = ctx;
  const version = request.version ?? 2;
  const maxRecords = request.maxRecords ?? 20_000;
  const out: ReadyEnvelope[] = [];
  let pending: StoredRecord[] = [];
  const flush = (): void => {
    if (pending.length === 0) return;
    const envelopes = packEnvelopes(ctx.gatewayId, pending, request.maxEnvelopeBytes, {
      version,
      bytesPerRecordHint: ctx.bytesPerRecordHint,
    });
    let at = 0;
    for (const envelope of envelopes) {
      // The size hint can be off (it is learnt): records beyond the envelopes wanted stay unleased.
      if (out.length >= request.maxEnvelopes) break;
      const records = pending.slice(at, at + envelope.header.count);
      at += envelope.header.count;
      out.push({
        unitId: ctx.register({ kind: 'records', seqs: records.map((r) => r.seq) }),
        source: 'records',
        lane: (records[0] as StoredRecord).lane,
        envelope,
        count: records.length,
        plainBytes: records.reduce((n, r) => n + r.sizeBytes, 0),
        records,
      });
    }
    pending = [];
  };
  // Roughly how many envelopes the pending records will make, to stop reading in time.
  const enough = (): boolean =>
    out.length + Math.ceil((pending.length * ctx.bytesPerRecordHint) / request.maxEnvelopeBytes) >=
    request.maxEnvelopes;
  const q = queries(stmt);
  for (const rows of [q.alert.all(maxRecords), q.live.all(ctx.liveFromMs, maxRecords)]) {
    pending = rows.map((r) => rowToRecord(idPrefix, r));
    flush();
    if (out.length >= request.maxEnvelopes) return out;
  }
  const backlog = new Backlog(stmt, q, ctx.liveFromMs);
  for (
    let item = backlog.next();
    item !== null && !enough() && pending.length < maxRecords;
    item = backlog.next()
  ) {
    if ('row' in item) {
      pending.push(rowToRecord(idPrefix, item.row));
      continue;
    }
    const block = item.block;
    if ((stmt.blockLeased.get(block.id) ?? 0) > 0) continue;
    const whole =
      block.live === block.count &&
      block.rows_until >= block.last_seq &&
      ctx.blocks.leasedIn(block).size === 0;
    if (whole && version === 2 && block.payload_bytes <= request.maxEnvelopeBytes) {
      const payload = stmt.blockPayload.get(block.id);
      let envelope: Envelope | null = null;
      try {
        if (payload !== undefined) envelope = columnarEnvelopeOf(payload);
      } catch {
        envelope = null;
      }
      if (envelope !== null) {
        flush();
        out.push({
          unitId: ctx.register({ kind: 'block', block }),
          source: 'block',
          lane: laneFromPriority(block.lane),
          envelope,
          count: block.live,
          plainBytes: block.live_bytes,
        });
        continue;
      }
    }
    // Partly acknowledged, partly in flight record by record, too large, or wanted as v1: re-encode.
    const records = ctx.blocks.available(block);
    if (records !== null) pending.push(...records);
  }
  flush();
  return out;
}
