import type Database from 'better-sqlite3';
import { crc32 } from 'node:zlib';
import type { Clock } from '../clock';
import { systemClock } from '../clock';
import { jsonValueProblem } from '../codec/json-value';
import { DrError } from '../errors';
import {
  formatRecordId,
  LANE_PRIORITY,
  LANES,
  laneFromPriority,
  parseRecordId,
  type Lane,
  type NewRecord,
} from '../record';
import { ackInBlocks, BLOCK_RECORDS_COUNTER, BLOCKS_COUNTER, blockTally, deleteBlock, Tally } from './blocks';
import { compactStep, type CompactionState } from './compaction';
import {
  BlockReader,
  readEnvelopes,
  readRecords,
  type EnvelopeRequest,
  type ReadyEnvelope,
  type UnitTarget,
} from './drain';
import { evictChunk, writeGapMarker } from './eviction';
import { asideName, fileState, moveAside, relink, resolve as resolveLayout, stamp } from './layout';
import { openDatabase, type CorruptionPolicy, type LostStore } from './open';
import { quotaView, WAL_SHARE, type QuotaView } from './quota';
import { defaultStoreSettings, type StoreSettings } from './settings';
import { storeError } from './sqlite-errors';
import { counterName, prepareStatements, TEMP_TABLES, type BlockRow, type Statements } from './statements';
import type {
  AckResult,
  AppendResult,
  BatchRequest,
  DeadLetter,
  DeadLetterInput,
  EvictionReport,
  LaneMetrics,
  MaintenanceReport,
  RecordStore,
  StoreEvent,
  StoreMetrics,
  StoredRecord,
  StreamGap,
  UnitAckResult,
} from './types';
import { WriteTransactions, type WriteStats } from './write-tx';

/** What the owner saw of an epoch lost while it ran (from the old handle), for the new store's gap marker. */
export interface LostEpochAccount {
  readonly epoch: string;
  readonly records: number;
  readonly streams: Readonly<Record<string, StreamGap>>;
}

export interface OpenStoreOptions {
  readonly path: string;
  /** The gateway's id (its thing name) for a new store; an existing store keeps the one it was created with. */
  readonly gatewayId: string;
  readonly settings?: StoreSettings;
  /** `quarantine` for the store's owner; `fail` (the default) for every other process. */
  readonly onCorrupt?: CorruptionPolicy;
  /** Check the tables at open (the owner does; others skip it). Default: true with `quarantine`. */
  readonly integrityCheck?: boolean;
  /** Create the store when nothing is at the path (default true; the owner always may). */
  readonly create?: boolean;
  /** The owner's account of the epoch it lost while running, named in the new store's gap marker. */
  readonly lostEpoch?: LostEpochAccount;
  readonly clock?: Clock;
  readonly onEvent?: (event: StoreEvent) => void;
}

/** Fixed share of a record's encoded size for its id and JSON keys in an envelope. */
const RECORD_OVERHEAD_BYTES = 64;
/** Pages the incremental vacuum hands back per maintenance round (a short write transaction). */
const VACUUM_PAGES_PER_ROUND = 256;
/** Free pages are handed back once they are more than this share of the file. */
const VACUUM_FREE_SHARE = 0.25;

export function recordSizeBytes(stream: string, deviceId: string, bodyJson: string): number {
  return (
    Buffer.byteLength(bodyJson) +
    Buffer.byteLength(stream) +
    Buffer.byteLength(deviceId) +
    RECORD_OVERHEAD_BYTES
  );
}

interface Unit {
  readonly target: UnitTarget;
  readonly count: number;
}

/**
 * The durable record store on one SQLite file shared by several processes (WAL). Hot records are rows;
 * the owner compacts telemetry older than the live window into blocks (envelope v2 payloads). Every
 * write is a short IMMEDIATE transaction; metrics come from counters kept in step by those transactions.
 * Reads hand out leases kept in this connection's memory: a batch read and neither acknowledged nor
 * released is handed out again after `leaseMs`, or by any new process (a restarted Replay).
 */
export class SqliteRecordStore implements RecordStore {
  readonly gatewayId: string;
  readonly epoch: string;
  readonly settings: StoreSettings;
  /** Time the integrity check at open took (0 when it did not run). */
  readonly integrityCheckMs: number;
  private readonly db: Database.Database;
  private readonly clock: Clock;
  private readonly idPrefix: string;
  private readonly path: string;
  private readonly target: string;
  private readonly inode: number;
  private readonly owner: boolean;
  private readonly onEvent: (event: StoreEvent) => void;
  private readonly stmt: Statements;
  private readonly tx: WriteTransactions;
  private readonly blocks: BlockReader;
  private readonly units = new Map<string, Unit>();
  private readonly compaction: CompactionState = { bytesPerRecord: 20 };
  private unitSeq = 0;
  /** An eviction started and has not reached the low-water mark yet. */
  private evicting = false;
  private integrityCursor = 0;
  private closed = false;

  static open(options: OpenStoreOptions): SqliteRecordStore {
    return new SqliteRecordStore(options);
  }

  private constructor(options: OpenStoreOptions) {
    this.settings = options.settings ?? defaultStoreSettings;
    this.clock = options.clock ?? systemClock;
    this.onEvent = options.onEvent ?? ((): void => undefined);
    this.path = options.path;
    const onCorrupt = options.onCorrupt ?? 'fail';
    this.owner = onCorrupt === 'quarantine';
    const opened = openDatabase(options.path, this.settings, options.gatewayId, {
      onCorrupt,
      integrityCheck: options.integrityCheck ?? this.owner,
      nowMs: this.clock.nowMs(),
      create: options.create ?? true,
    });
    this.db = opened.db;
    this.integrityCheckMs = opened.integrityCheckMs;
    this.target = opened.target;
    this.inode = opened.inode;
    for (const sql of TEMP_TABLES) this.db.prepare(sql).run();
    this.stmt = prepareStatements(this.db);
    this.tx = new WriteTransactions(this.db);
    this.blocks = new BlockReader(this.stmt, (block, err) => this.dropDamagedBlock(block, String(err)));
    this.epoch = this.stmt.getMeta.get('epoch') ?? '';
    this.gatewayId = this.stmt.getMeta.get('gatewayId') ?? options.gatewayId;
    this.idPrefix = `${this.gatewayId}:${this.epoch}`;
    this.tuneWal(this.quota());
    if (opened.lost !== undefined) this.reportLost(opened.lost, options.lostEpoch);
  }

  /** A lost epoch, named in the fresh store by a gap marker, and reported. */
  private reportLost(lost: LostStore, account: LostEpochAccount | undefined): void {
    const known = account !== undefined && (lost.epoch === undefined || lost.epoch === account.epoch);
    const tally = new Tally();
    if (known) tally.addAll(account.streams);
    const epoch = lost.epoch ?? (known ? account.epoch : null);
    const seq = this.tx.run('gap', () =>
      writeGapMarker(
        this.stmt,
        this.gatewayId,
        this.clock.nowMs(),
        lost.kind === 'damaged' ? 'store_damaged' : 'store_lost',
        tally,
        {
          lostEpoch: epoch,
          lostRecordsKnown: known,
          cause: lost.reason,
        },
      ),
    );
    this.onEvent({
      type: 'recreated',
      code: 'STORE_RECREATED',
      path: this.path,
      quarantinedTo: lost.setAsideTo ?? '',
      reason: lost.reason,
      cause: lost.kind,
      lostEpoch: epoch,
      lostRecords: known ? account.records : null,
      gapMarkerId: formatRecordId(this.gatewayId, this.epoch, seq),
    });
  }

  private pagesInUse(): number {
    const pages = (this.stmt.pageCount.get() ?? 0) - (this.stmt.freelistCount.get() ?? 0);
    return pages * (this.stmt.pageSize.get() ?? 4096);
  }

  /** Bytes in use by pages that hold data; free pages are reused before the file grows. */
  usedBytes(): number {
    return this.pagesInUse();
  }

  private walAllowance(limitBytes: number): number {
    const s = this.settings;
    const pageSize = this.stmt.pageSize.get() ?? 4096;
    return Math.max(
      16 * pageSize,
      Math.min(
        limitBytes * WAL_SHARE,
        s.journalSizeLimitBytes,
        2 * s.walAutocheckpointPages * pageSize || Infinity,
      ),
    );
  }

  private quota(): QuotaView & { pagesLimitBytes: number; walAllowanceBytes: number } {
    const view = quotaView(this.target, this.settings, this.pagesInUse());
    const walAllowanceBytes = this.walAllowance(view.limitBytes);
    return {
      ...view,
      walAllowanceBytes,
      pagesLimitBytes: Math.max(0, view.limitBytes - Math.max(view.walBytes, walAllowanceBytes)),
    };
  }

  /** Keeps the WAL within its share of the quota: checkpoint and truncate thresholds follow the limit. */
  private tuneWal(q: { walAllowanceBytes: number }): void {
    const pageSize = this.stmt.pageSize.get() ?? 4096;
    const pages = Math.max(
      16,
      Math.min(this.settings.walAutocheckpointPages, Math.floor(q.walAllowanceBytes / 2 / pageSize)),
    );
    this.db.pragma(`wal_autocheckpoint = ${this.settings.walAutocheckpointPages === 0 ? 0 : pages}`);
    this.db.pragma(`journal_size_limit = ${Math.floor(q.walAllowanceBytes)}`);
  }

  private guard(): void {
    if (this.closed) throw new DrError('STORE_CLOSED', 'the store is closed');
    // A data file deleted or replaced under this handle: nothing more may be written to it.
    if (fileState(this.path, this.target, this.inode) === 'gone') {
      throw new DrError(
        'STORE_REPLACED',
        `the data file of the store at ${this.path} was deleted or replaced`,
        {
          details: { path: this.path, epoch: this.epoch },
        },
      );
    }
  }

  private run<T>(action: string, fn: () => T): T {
    this.guard();
    try {
      return fn();
    } catch (err) {
      throw storeError(err, action);
    }
  }

  private encodeAll(records: readonly NewRecord[]): { json: string[]; bytes: number } {
    const json: string[] = [];
    let bytes = 0;
    records.forEach((r, i) => {
      const where = `record ${i} (stream ${JSON.stringify(r.stream)})`;
      if (!(r.lane in LANE_PRIORITY))
        throw new DrError('RECORD_INVALID', `${where}: unknown lane ${String(r.lane)}`);
      if (!Number.isSafeInteger(r.tsMs) || r.tsMs < 0)
        throw new DrError('RECORD_INVALID', `${where}: tsMs must be a non-negative integer`);
      if (r.stream.length === 0 || r.deviceId.length === 0)
        throw new DrError('RECORD_INVALID', `${where}: stream and deviceId must not be empty`);
      const problem = jsonValueProblem(r.body);
      if (problem !== null) throw new DrError('RECORD_INVALID', `${where}: body: ${problem}`);
      const body = JSON.stringify(r.body);
      const bodyBytes = Buffer.byteLength(body);
      if (bodyBytes > this.settings.maxRecordBodyBytes) {
        throw new DrError(
          'RECORD_TOO_LARGE',
          `${where}: body of ${bodyBytes} bytes exceeds maxRecordBodyBytes ${this.settings.maxRecordBodyBytes}`,
        );
      }
      json.push(body);
      bytes += recordSizeBytes(r.stream, r.deviceId, body);
    });
    return { json, bytes };
  }

  /**
   * Appends records in one transaction (group commit) and returns after the commit, with their ids in
   * order. All or nothing: a record that fails the checks rejects the call before anything is written.
   * Over the quota (the disk included), one bounded eviction chunk runs in the same transaction.
   */
  append(records: readonly NewRecord[]): AppendResult {
    this.guard();
    if (records.length === 0) return { ids: [], firstSeq: 0, lastSeq: 0 };
    return this.run('append', () => {
      const { json, bytes } = this.encodeAll(records);
      const result = this.tx.run('append', () => {
        const eviction = this.evictIfNeeded(bytes);
        const ids: string[] = [];
        let firstSeq = 0;
        let lastSeq = 0;
        const perLane = [0, 0];
        const bytesPerLane = [0, 0];
        records.forEach((r, i) => {
          const body = json[i] as string;
          const size = recordSizeBytes(r.stream, r.deviceId, body);
          const lane = LANE_PRIORITY[r.lane];
          const seq = Number(
            this.stmt.insertRecord.run(lane, r.stream, r.deviceId, r.tsMs, body, size).lastInsertRowid,
          );
          perLane[lane] = (perLane[lane] ?? 0) + 1;
          bytesPerLane[lane] = (bytesPerLane[lane] ?? 0) + size;
          if (i === 0) firstSeq = seq;
          lastSeq = seq;
          ids.push(formatRecordId(this.gatewayId, this.epoch, seq));
        });
        perLane.forEach((n, lane) => {
          if (n === 0) return;
          this.stmt.addCounter.run(counterName.depth(lane), n);
          this.stmt.addCounter.run(counterName.bytes(lane), bytesPerLane[lane] ?? 0);
        });
        this.stmt.addCounter.run('appended', records.length);
        return eviction === null ? { ids, firstSeq, lastSeq } : { ids, firstSeq, lastSeq, eviction };
      });
      if (result.eviction !== undefined) this.onEvent({ type: 'eviction', report: result.eviction });
      return result;
    });
  }

  /**
   * Inside a write transaction: one eviction chunk when pages in use plus `incoming` pass the limit, or
   * while an eviction started earlier has not yet reached its low-water mark (`continuing`).
   */
  private evictIfNeeded(incomingBytes: number, continuing = false): EvictionReport | null {
    const q = this.quota();
    const used = this.pagesInUse() + incomingBytes;
    const low = Math.floor(q.pagesLimitBytes * this.settings.evictToRatio);
    if (used <= q.pagesLimitBytes && !(continuing && this.evicting && used > low)) {
      if (used <= low) this.evicting = false;
      return null;
    }
    this.evicting = true;
    return evictChunk({
      stmt: this.stmt,
      pagesInUse: () => this.pagesInUse(),
      targetBytes: Math.max(0, low - incomingBytes),
      gatewayId: this.gatewayId,
      idPrefix: this.idPrefix,
      nowMs: this.clock.nowMs(),
      reason: q.diskBound ? 'disk' : 'quota',
    });
  }

  private expireLeases(nowMs: number): void {
    this.stmt.expireLeases.run(nowMs);
    this.stmt.expireBlockLeases.run(nowMs);
    for (const [id, unit] of this.units) {
      if (unit.target.kind === 'block') {
        if ((this.stmt.blockLeased.get(unit.target.block.id) ?? 0) === 0) this.units.delete(id);
      }
    }
  }

  private lease(seqs: readonly number[], nowMs: number): void {
    if (seqs.length > 0) this.stmt.upsertLeases.run(nowMs + this.settings.leaseMs, JSON.stringify(seqs));
  }

  /**
   * The next batch for upstream: alerts first, then live telemetry (newer than liveWindowMs), then the
   * backlog (blocks and rows) oldest-first; bounded by count and bytes (at least one record, so an
   * outsized one cannot stall). Returned records are leased to this handle until acknowledged, released,
   * or leaseMs passes.
   */
  nextBatch(request: BatchRequest): StoredRecord[] {
    return this.run('read', () => {
      const nowMs = this.clock.nowMs();
      this.expireLeases(nowMs);
      const out = readRecords(
        {
          stmt: this.stmt,
          idPrefix: this.idPrefix,
          liveFromMs: nowMs - this.settings.liveWindowMs,
          blocks: this.blocks,
        },
        request.maxRecords,
        request.maxBytes,
      );
      this.lease(
        out.map((r) => r.seq),
        nowMs,
      );
      return out;
    });
  }

  nextEnvelopes(request: EnvelopeRequest): ReadyEnvelope[] {
    return this.run('read', () => {
      const nowMs = this.clock.nowMs();
      this.expireLeases(nowMs);
      const register = (target: UnitTarget): string => {
        this.unitSeq += 1;
        const unitId = `${this.epoch}:${target.kind === 'block' ? 'b' : 'r'}${this.unitSeq}`;
        if (target.kind === 'block') this.stmt.leaseBlock.run(target.block.id, nowMs + this.settings.leaseMs);
        else this.lease(target.seqs, nowMs);
        this.units.set(unitId, {
          target,
          count: target.kind === 'block' ? target.block.live : target.seqs.length,
        });
        return unitId;
      };
      const out = readEnvelopes(
        {
          stmt: this.stmt,
          idPrefix: this.idPrefix,
          liveFromMs: nowMs - this.settings.liveWindowMs,
          blocks: this.blocks,
          gatewayId: this.gatewayId,
          register,
          bytesPerRecordHint: this.compaction.bytesPerRecord,
        },
        request,
      );
      for (const e of out) {
        if (e.source === 'records' && e.envelope.header.v === 2)
          this.compaction.bytesPerRecord = Math.max(0.5, e.envelope.payload.length / e.count);
      }
      return out;
    });
  }

  /** Inside a write transaction: deletes records by sequence, in rows or in blocks; returns those missing. */
  private deleteSeqs(seqs: readonly number[]): number[] {
    const deleted = this.stmt.deleteRecords.all(JSON.stringify(seqs));
    const counts = [0, 0];
    const bytes = [0, 0];
    const gone = new Set<number>();
    for (const [seq, lane, size] of deleted) {
      gone.add(seq);
      counts[lane] = (counts[lane] ?? 0) + 1;
      bytes[lane] = (bytes[lane] ?? 0) + size;
    }
    counts.forEach((n, lane) => {
      if (n === 0) return;
      this.stmt.addCounter.run(counterName.depth(lane), -n);
      this.stmt.addCounter.run(counterName.bytes(lane), -(bytes[lane] ?? 0));
    });
    const rest = seqs.filter((s) => !gone.has(s));
    return rest.length === 0 ? [] : ackInBlocks(this.stmt, rest);
  }

  /** Splits ids into this store's sequences and the rest (malformed, or of another store). */
  private seqsOf(ids: readonly string[]): { seqs: number[]; foreign: string[] } {
    const seqs: number[] = [];
    const foreign: string[] = [];
    for (const id of ids) {
      const parsed = parseRecordId(id);
      // Ids of another store (e.g. one quarantined since) are not ours to delete.
      if (parsed !== null && parsed.prefix === this.idPrefix) seqs.push(parsed.seq);
      else foreign.push(id);
    }
    return { seqs, foreign };
  }

  /**
   * Deletes records by id (after upstream delivery), rows or records inside blocks. `notFound` lists ids
   * that were no longer stored: acknowledged before, evicted by the quota while in flight (then also
   * named by a gap marker), or not ids of this store at all.
   */
  ack(ids: readonly string[]): AckResult {
    const { seqs, foreign } = this.seqsOf(ids);
    if (seqs.length === 0) return { acknowledged: 0, notFound: foreign };
    const missing = this.run('ack', () =>
      this.tx.run('ack', () => {
        const gone = this.deleteSeqs(seqs);
        const acknowledged = seqs.length - gone.length;
        if (acknowledged > 0) this.stmt.addCounter.run('acknowledged', acknowledged);
        this.stmt.deleteLeases.run(JSON.stringify(seqs));
        return gone;
      }),
    );
    return {
      acknowledged: seqs.length - missing.length,
      notFound: [...foreign, ...missing.map((seq) => formatRecordId(this.gatewayId, this.epoch, seq))],
    };
  }

  /** Ends the leases of records that were read but not delivered, so the next read returns them. */
  release(ids: readonly string[]): void {
    const { seqs } = this.seqsOf(ids);
    if (seqs.length === 0) return;
    this.run('release', () => this.stmt.deleteLeases.run(JSON.stringify(seqs)));
  }

  ackEnvelopes(unitIds: readonly string[]): UnitAckResult {
    return this.run('ack', () =>
      this.tx.run('ack', () => {
        let acknowledged = 0;
        let missing = 0;
        const unknownUnits: string[] = [];
        for (const unitId of unitIds) {
          const unit = this.units.get(unitId);
          if (unit === undefined) {
            unknownUnits.push(unitId);
            continue;
          }
          this.units.delete(unitId);
          if (unit.target.kind === 'records') {
            const gone = this.deleteSeqs(unit.target.seqs);
            this.stmt.deleteLeases.run(JSON.stringify(unit.target.seqs));
            acknowledged += unit.count - gone.length;
            missing += gone.length;
            continue;
          }
          this.stmt.releaseBlock.run(unit.target.block.id);
          const block = this.stmt.block.get(unit.target.block.id);
          if (block === undefined) {
            missing += unit.count; // evicted while in flight: named by a gap marker
            continue;
          }
          deleteBlock(this.stmt, block);
          acknowledged += block.live;
        }
        if (acknowledged > 0) this.stmt.addCounter.run('acknowledged', acknowledged);
        return { acknowledged, missing, unknownUnits };
      }),
    );
  }

  releaseEnvelopes(unitIds: readonly string[]): void {
    this.run('release', () => {
      for (const unitId of unitIds) {
        const unit = this.units.get(unitId);
        if (unit === undefined) continue;
        this.units.delete(unitId);
        if (unit.target.kind === 'block') this.stmt.releaseBlock.run(unit.target.block.id);
        else this.stmt.deleteLeases.run(JSON.stringify(unit.target.seqs));
      }
    });
  }

  deadLetter(entries: readonly DeadLetterInput[]): void {
    if (entries.length === 0) return;
    this.run('dead-letter', () => this.tx.run('dead-letter', () => this.deadLetterInTx(entries)));
  }

  private deadLetterInTx(entries: readonly DeadLetterInput[]): void {
    const { maxRawBytes, maxEntries } = this.settings.deadLetters;
    const nowMs = this.clock.nowMs();
    for (const e of entries) {
      const raw = Buffer.from(e.raw.buffer, e.raw.byteOffset, Math.min(e.raw.byteLength, maxRawBytes));
      this.stmt.insertDeadLetter.run(
        nowMs,
        e.source.slice(0, 512),
        e.reason.slice(0, 64),
        e.detail.slice(0, 1024),
        Buffer.from(raw),
        e.raw.byteLength,
      );
      this.stmt.addCounter.run(`deadLetter:${e.reason.slice(0, 64)}`, 1);
    }
    this.stmt.addCounter.run('deadLetters', entries.length);
    const dropped = this.stmt.trimDeadLetters.run(maxEntries).changes;
    if (dropped > 0) this.stmt.addCounter.run('deadLettersDropped', dropped);
  }

  listDeadLetters(limit: number, afterId = 0): DeadLetter[] {
    return this.run('read dead letters', () =>
      this.stmt.listDeadLetters.all(afterId, limit).map((r) => ({
        id: r.id,
        atMs: r.at_ms,
        source: r.source,
        reason: r.reason,
        detail: r.detail,
        raw: r.raw,
        rawBytes: r.raw_bytes,
      })),
    );
  }

  /** From counters and index ends only: the same cost with 17 M records as with 100 k. */
  metrics(): StoreMetrics {
    return this.run('metrics', () => {
      const nowMs = this.clock.nowMs();
      const counters = new Map(this.stmt.counters.all().map((c) => [c.name, c.value]));
      const count = (name: string): number => counters.get(name) ?? 0;
      const lanes = {} as Record<Lane, LaneMetrics>;
      for (const lane of LANES) {
        const code = LANE_PRIORITY[lane];
        const tsRows = this.stmt.oldestRowTs.get(code) ?? null;
        const tsBlocks = this.stmt.oldestBlockTs.get(code) ?? null;
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
      const q = this.quota();
      return {
        lanes,
        liveTelemetryDepth: this.stmt.liveDepth.get(nowMs - this.settings.liveWindowMs) ?? 0,
        usedBytes: this.pagesInUse(),
        fileBytes: q.fileBytes,
        walBytes: q.walBytes,
        bytesAtRest: q.usedBytes,
        maxStoreBytes: this.settings.maxStoreBytes,
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
    });
  }

  /** One eviction chunk in its own write transaction, when over the limit; null when not needed. */
  private evictOnce(): EvictionReport | null {
    const report = this.tx.run('evict', () => this.evictIfNeeded(0, true));
    if (report !== null) this.onEvent({ type: 'eviction', report });
    return report;
  }

  /**
   * Evicts down to the low-water mark when the store is over its quota: chunk after chunk, each its own
   * short write transaction (so other processes get the lock in between), each with its gap marker.
   */
  enforceQuota(): EvictionReport | null {
    return this.run('enforce quota', () => {
      let last: EvictionReport | null = null;
      for (let i = 0; i < 10_000; i++) {
        const report = this.evictOnce();
        if (report === null) break;
        last = report;
      }
      return last;
    });
  }

  /**
   * One round of the owner's housekeeping, each part its own short transaction: one eviction chunk when
   * over the quota, one compaction block, a passive WAL checkpoint (a truncating one when the WAL passes
   * its share), some freed pages handed back to the disk, and a slice of the background integrity check.
   * `more` says that work remains; the caller runs another round after letting others write.
   */
  maintain(): MaintenanceReport {
    return this.run('maintain', () => {
      if (this.owner) this.repairLink();
      const q = this.quota();
      this.tuneWal(q);
      const eviction = this.evictOnce();
      let compactedRecords = 0;
      let compactMore = false;
      if (this.settings.compaction.enabled) {
        const step = compactStep({
          stmt: this.stmt,
          settings: this.settings,
          gatewayId: this.gatewayId,
          epoch: this.epoch,
          idPrefix: this.idPrefix,
          nowMs: this.clock.nowMs(),
          state: this.compaction,
          write: (fn) => this.tx.run('compact', fn),
        });
        compactedRecords = step.records;
        compactMore = step.more;
      }
      const mode = q.walBytes > q.walAllowanceBytes ? 'TRUNCATE' : 'PASSIVE';
      const cp = this.checkpoint(mode);
      // Freed pages are reused by new records anyway; they go back to the disk only when they are many
      // (or the disk is tight), since moving pages costs writes on an SD card.
      const before = this.stmt.freelistCount.get() ?? 0;
      const pages = this.stmt.pageCount.get() ?? 1;
      if (before > 0 && (before > pages * VACUUM_FREE_SHARE || q.diskBound))
        this.tx.run('vacuum', () => this.db.pragma(`incremental_vacuum(${VACUUM_PAGES_PER_ROUND})`));
      const after = this.stmt.freelistCount.get() ?? 0;
      const busy = eviction !== null || compactMore;
      // The background check takes its slice in rounds without other work.
      const checkedBlocks = busy ? 0 : this.checkBlocks(this.settings.integrity.blocksPerRound);
      return {
        checkpointedFrames: cp.checkpointed,
        walFrames: cp.log,
        busy: cp.busy !== 0,
        vacuumedPages: Math.max(0, before - after),
        eviction,
        compactedRecords,
        checkedBlocks,
        more: busy,
      };
    });
  }

  private checkpoint(mode: 'PASSIVE' | 'TRUNCATE'): { busy: number; log: number; checkpointed: number } {
    if (mode === 'PASSIVE') {
      const rows = this.db.pragma('wal_checkpoint(PASSIVE)') as {
        busy: number;
        log: number;
        checkpointed: number;
      }[];
      return rows[0] ?? { busy: 0, log: 0, checkpointed: 0 };
    }
    // A truncating checkpoint waits for readers while holding writers off: wait briefly only.
    this.db.pragma('busy_timeout = 50');
    try {
      const rows = this.db.pragma('wal_checkpoint(TRUNCATE)') as {
        busy: number;
        log: number;
        checkpointed: number;
      }[];
      return rows[0] ?? { busy: 0, log: 0, checkpointed: 0 };
    } finally {
      this.db.pragma(`busy_timeout = ${this.settings.busyTimeoutMs}`);
    }
  }

  /**
   * The background full check, a slice at a time: block payloads against their checksums (reading them
   * also walks their pages, so structural damage surfaces as STORE_CORRUPT). A damaged block is dropped
   * and named by a gap marker; the rest of the store lives on.
   */
  private checkBlocks(count: number): number {
    if (count <= 0) return 0;
    const rows = this.stmt.blocksAfterId.all(this.integrityCursor, count);
    if (rows.length < count) this.integrityCursor = 0;
    for (const b of rows) {
      this.integrityCursor = b.id;
      if (b.payload === null) this.dropDamagedBlock(b, 'its payload is missing');
      else if (b.payload.length !== b.payload_bytes || crc32(b.payload) !== b.crc)
        this.dropDamagedBlock(b, 'its payload fails its checksum');
    }
    return rows.length;
  }

  private dropDamagedBlock(block: BlockRow, reason: string): void {
    const tally = new Tally();
    try {
      tally.addAll(JSON.parse(block.summary) as Record<string, StreamGap>);
    } catch {
      // a damaged summary: the count alone
    }
    const seq = this.tx.run('evict', () => {
      const current = this.stmt.block.get(block.id);
      if (current === undefined) return null;
      deleteBlock(this.stmt, current);
      this.stmt.addCounter.run('evictedRecords', current.live);
      return writeGapMarker(this.stmt, this.gatewayId, this.clock.nowMs(), 'damaged', tally, {
        blockRecords: current.live,
        detail: reason.slice(0, 200),
      });
    });
    if (seq === null) return;
    this.onEvent({
      type: 'block-damaged',
      blockId: block.id,
      records: block.live,
      gapMarkerId: formatRecordId(this.gatewayId, this.epoch, seq),
      reason,
    });
  }

  /** The owner puts back a link that was removed or replaced while the data file is intact. */
  private repairLink(): void {
    if (this.target === this.path || fileState(this.path, this.target, this.inode) !== 'link-damaged') return;
    const r = resolveLayout(this.path);
    let setAsideTo: string | null = null;
    if (r.kind === 'regular') {
      // The file put in place of the link was never opened by the suite: kept intact, aside.
      setAsideTo = asideName(this.path, 'replaced', stamp(this.clock.nowMs()));
      moveAside(this.path, setAsideTo);
    }
    relink(this.path, this.target);
    this.onEvent({ type: 'relinked', path: this.path, setAsideTo });
  }

  /**
   * What this handle's store still holds, per stream: the owner's account of an epoch whose data file
   * was deleted or replaced, for the gap marker of the store that follows. Reads the record rows (the
   * live window and what waits for compaction) and the blocks' summaries, not the payloads.
   */
  undeliveredAccount(): LostEpochAccount {
    if (this.closed) throw new DrError('STORE_CLOSED', 'the store is closed');
    const tally = new Tally();
    for (const r of this.stmt.rowTallies.all())
      tally.add(laneFromPriority(r.lane), r.stream, r.records, r.fromTsMs, r.toTsMs);
    for (const b of this.stmt.blockSummaries.all()) {
      if (b.live === b.count) tally.addAll(JSON.parse(b.summary) as Record<string, StreamGap>);
      else {
        const block = this.stmt.block.get(b.id);
        if (block !== undefined) blockTally(this.stmt, block, tally);
      }
    }
    return { epoch: this.epoch, records: tally.records, streams: tally.streams() };
  }

  fileReplaced(): boolean {
    return fileState(this.path, this.target, this.inode) !== 'ok';
  }

  /** The longest write transaction of this handle, by kind. */
  writeStats(): WriteStats {
    return this.tx.stats();
  }

  /** The pragmas in force, for logs and benchmark reports. */
  pragmas(): Record<string, unknown> {
    return this.run('pragmas', () => ({
      journal_mode: this.db.pragma('journal_mode', { simple: true }),
      synchronous: this.settings.synchronous,
      busy_timeout_ms: this.settings.busyTimeoutMs,
      page_size: this.stmt.pageSize.get(),
      auto_vacuum: this.db.pragma('auto_vacuum', { simple: true }),
      wal_autocheckpoint: this.db.pragma('wal_autocheckpoint', { simple: true }),
      journal_size_limit: this.db.pragma('journal_size_limit', { simple: true }),
    }));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.db.close();
  }
}
