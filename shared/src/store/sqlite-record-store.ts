import type Database from 'better-sqlite3';
import type { Clock } from '../clock';
import { systemClock } from '../clock';
import { DrError } from '../errors';
import { formatRecordId, LANE_PRIORITY, parseRecordId, type NewRecord } from '../record';
import { Tally } from './blocks';
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
import { fileState } from './layout';
import {
  checkBlocks,
  dropDamagedBlock,
  heldAccount,
  repairLink,
  type HeldAccount,
  type OwnerContext,
} from './owner';
import { deleteSeqs, EnvelopeUnits } from './units';
import { openDatabase, type CorruptionPolicy, type LostStore } from './open';
import { checkpoint, storeQuota, tuneWal, type StoreQuota } from './quota';
import { DiskReserve } from './reserve';
import { encodeNewRecords, recordSizeBytes } from './new-records';
import { readDeadLetters, writeDeadLetters } from './dead-letters';
import { storeMetrics } from './metrics';
import { defaultStoreSettings, type StoreSettings } from './settings';
import { storeError } from './sqlite-errors';
import { counterName, prepareStatements, TEMP_TABLES, type Statements } from './statements';
import type {
  AckResult,
  AppendResult,
  BatchRequest,
  DeadLetter,
  DeadLetterInput,
  EvictionReport,
  MaintenanceReport,
  RecordStore,
  StoreEvent,
  StoreMetrics,
  StoredRecord,
  UnitAckResult,
} from './types';
import { WriteTransactions, type WriteStats } from './write-tx';

/** What the owner saw of an epoch lost while it ran (from the old handle), for the new store's gap marker. */
export type LostEpochAccount = HeldAccount;

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

/** Pages the incremental vacuum hands back per maintenance round (a short write transaction). */
const VACUUM_PAGES_PER_ROUND = 256;
/** Kept free for the next appends by the owner when the disk sets the limit. */
const DISK_HEADROOM_BYTES = 1024 * 1024;
/** Free pages are handed back once they are more than this share of the file. */
const VACUUM_FREE_SHARE = 0.25;

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
  /** The owner's reserve file, given up only to get out of a full disk. */
  private readonly reserve: DiskReserve;
  private readonly onEvent: (event: StoreEvent) => void;
  private readonly stmt: Statements;
  private readonly tx: WriteTransactions;
  private readonly blocks: BlockReader;
  private readonly units: EnvelopeUnits;
  private readonly owned: OwnerContext;
  private readonly compaction: CompactionState = { bytesPerRecord: 20 };
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
    this.blocks = new BlockReader(this.stmt, (block, err) =>
      dropDamagedBlock(this.owned, block, String(err)),
    );
    this.epoch = this.stmt.getMeta.get('epoch') ?? '';
    this.gatewayId = this.stmt.getMeta.get('gatewayId') ?? options.gatewayId;
    this.idPrefix = `${this.gatewayId}:${this.epoch}`;
    this.units = new EnvelopeUnits(this.stmt, this.epoch, this.settings.leaseMs);
    this.owned = {
      stmt: this.stmt,
      tx: this.tx,
      gatewayId: this.gatewayId,
      epoch: this.epoch,
      clock: this.clock,
      path: this.path,
      target: this.target,
      inode: this.inode,
      onEvent: this.onEvent,
    };
    tuneWal(
      this.db,
      this.settings,
      this.quota(),
      this.stmt.pageSize.get() ?? 4096,
      this.owner ? 'owner' : 'follower',
    );
    if (opened.lost !== undefined) this.reportLost(opened.lost, options.lostEpoch);
    this.reserve = new DiskReserve(this.path);
    if (this.owner) this.reserve.ensure();
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

  private quota(): StoreQuota {
    return storeQuota(this.target, this.settings, this.pagesInUse(), this.stmt.pageSize.get() ?? 4096);
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

  /**
   * Appends records in one transaction (group commit) and returns after the commit, with their ids in
   * order. All or nothing: a record that fails the checks rejects the call before anything is written.
   * Over the quota (the disk included), one bounded eviction chunk runs in the same transaction.
   */
  append(records: readonly NewRecord[]): AppendResult {
    this.guard();
    if (records.length === 0) return { ids: [], firstSeq: 0, lastSeq: 0 };
    return this.run('append', () => {
      const { json, bytes } = encodeNewRecords(records, this.settings.maxRecordBodyBytes);
      let result: AppendResult;
      try {
        result = this.appendTx(records, json, bytes);
      } catch (err) {
        // The disk filled between two checks (its free space is shared): the eviction that ran inside
        // the failed transaction went with it. Make room in a transaction of its own, smaller than the
        // append, so that the retry finds it; the append is refused as STORE_FULL (retryable).
        if (storeError(err, 'append').code === 'STORE_FULL') this.makeRoom(2 * bytes);
        throw err;
      }
      if (result.eviction !== undefined) this.onEvent({ type: 'eviction', report: result.eviction });
      return result;
    });
  }

  /**
   * Runs a write that the disk may refuse. When it does, the WAL could not grow: a truncating checkpoint
   * (outside any transaction) lets it start again from its beginning or hands its space back, and the
   * write gets one more try. Without it a long WAL (a reader held its snapshot while the disk filled)
   * wedges the store: every eviction needs WAL frames, and a checkpoint ran only after an eviction.
   */
  private withWalRoom<T>(action: string, write: () => T): T {
    const diskFull = (err: unknown): boolean => storeError(err, action).details?.['sqlite'] === 'SQLITE_FULL';
    try {
      return write();
    } catch (err) {
      if (!diskFull(err)) throw err;
    }
    try {
      checkpoint(this.db, 'TRUNCATE', this.settings.busyTimeoutMs);
      return write();
    } catch (err) {
      // Full to the last block: the checkpoint itself could not grow the data file. The owner gives up
      // its reserve file for it.
      if (!diskFull(err) || !this.owner) throw err;
      const bytes = this.reserve.release();
      if (bytes === 0) throw err;
      this.onEvent({ type: 'reserve-released', path: this.reserve.path, bytes });
    }
    checkpoint(this.db, 'TRUNCATE', this.settings.busyTimeoutMs);
    return write();
  }

  /** Evicts at least `bytes` of pages in a transaction of its own (after a write failed on a full disk). */
  private makeRoom(bytes: number): void {
    try {
      const report = this.withWalRoom('evict', () =>
        this.tx.run('evict', () =>
          evictChunk({
            stmt: this.stmt,
            pagesInUse: () => this.pagesInUse(),
            targetBytes: Math.max(0, this.pagesInUse() - bytes),
            gatewayId: this.gatewayId,
            idPrefix: this.idPrefix,
            nowMs: this.clock.nowMs(),
            reason: this.quota().diskBound ? 'disk' : 'quota',
          }),
        ),
      );
      if (report !== null) this.onEvent({ type: 'eviction', report });
      checkpoint(this.db, 'TRUNCATE', this.settings.busyTimeoutMs);
    } catch {
      // Not even that fits now: the owner's maintenance and the next retry try again.
    }
  }

  private appendTx(records: readonly NewRecord[], json: readonly string[], bytes: number): AppendResult {
    return this.tx.run('append', () => {
      // The limit once per append: it reads the files' sizes and the filesystem's free space.
      const q = this.quota();
      const eviction = this.evictIfNeeded(bytes, q);
      if (records.length > 1) this.checkRoom(bytes, q);
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
  }

  /**
   * Inside the append's transaction, after its eviction, when the disk sets the limit: the records must
   * fit in what the limit leaves and in the WAL's allowance. A commit that does not would fill a nearly full disk with WAL frames that
   * no checkpoint can move (the data file cannot grow either) and wedge the store until space is freed
   * elsewhere. Refused as STORE_FULL (retryable) before anything is written: the group commit retries it
   * in smaller parts. A single record always gets its try.
   */
  private checkRoom(incomingBytes: number, q: StoreQuota): void {
    // Under a quota with disk to spare, a commit may pass the limit by itself: the next rounds evict.
    if (!q.diskBound) return;
    const room = q.pagesLimitBytes - this.pagesInUse();
    if (incomingBytes <= room && incomingBytes <= q.walAllowanceBytes) return;
    throw new DrError(
      'STORE_FULL',
      `the store has room for ${Math.max(0, Math.floor(Math.min(room, q.walAllowanceBytes)))} bytes, not for this commit of ${incomingBytes}`,
      { details: { limitBytes: q.limitBytes, diskBound: q.diskBound } },
    );
  }

  /**
   * Inside a write transaction: one eviction chunk when pages in use plus `incoming` pass the limit, or
   * while an eviction started earlier has not yet reached its low-water mark (`continuing`).
   */
  private evictIfNeeded(incomingBytes: number, q: StoreQuota, continuing = false): EvictionReport | null {
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
    this.units.expire();
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
      const register = (target: UnitTarget): string => this.units.register(target, nowMs);
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
        const gone = deleteSeqs(this.stmt, seqs);
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
    return this.run('ack', () => this.tx.run('ack', () => this.units.ack(unitIds)));
  }

  releaseEnvelopes(unitIds: readonly string[]): void {
    this.run('release', () => this.units.release(unitIds));
  }

  deadLetter(entries: readonly DeadLetterInput[]): void {
    if (entries.length === 0) return;
    this.run('dead-letter', () =>
      this.tx.run('dead-letter', () =>
        writeDeadLetters(this.stmt, this.settings.deadLetters, this.clock.nowMs(), entries),
      ),
    );
  }

  listDeadLetters(limit: number, afterId = 0): DeadLetter[] {
    return this.run('read dead letters', () => readDeadLetters(this.stmt, limit, afterId));
  }

  /** From counters and index ends only: the same cost with 17 M records as with 100 k. */
  metrics(): StoreMetrics {
    return this.run('metrics', () =>
      storeMetrics(this.stmt, this.settings, this.quota(), this.pagesInUse(), this.clock.nowMs()),
    );
  }

  /** One eviction chunk in its own write transaction, when over the limit; null when not needed. */
  private evictOnce(): EvictionReport | null {
    // On a disk that sets the limit, room for the next appends is kept too: their transaction cannot
    // make room for itself when the disk is full (its eviction would go with it).
    const report = this.withWalRoom('evict', () =>
      this.tx.run('evict', () => {
        const q = this.quota();
        return this.evictIfNeeded(
          q.diskBound ? Math.min(DISK_HEADROOM_BYTES, q.limitBytes * 0.1) : 0,
          q,
          true,
        );
      }),
    );
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
      if (this.owner) repairLink(this.owned);
      const q = this.quota();
      tuneWal(this.db, this.settings, q, this.stmt.pageSize.get() ?? 4096, 'owner');
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
      const cp = checkpoint(this.db, mode, this.settings.busyTimeoutMs);
      // Freed pages are reused by new records anyway; they go back to the disk only when they are many
      // (or the disk is tight), since moving pages costs writes on an SD card.
      const before = this.stmt.freelistCount.get() ?? 0;
      const pages = this.stmt.pageCount.get() ?? 1;
      if (before > 0 && (before > pages * VACUUM_FREE_SHARE || q.diskBound))
        this.tx.run('vacuum', () => this.db.pragma(`incremental_vacuum(${VACUUM_PAGES_PER_ROUND})`));
      const after = this.stmt.freelistCount.get() ?? 0;
      if (this.owner) this.reserve.ensure();
      const busy = eviction !== null || compactMore;
      // The background check takes its slice in rounds without other work.
      let checkedBlocks = 0;
      if (!busy) {
        const slice = checkBlocks(this.owned, this.integrityCursor, this.settings.integrity.blocksPerRound);
        this.integrityCursor = slice.cursor;
        checkedBlocks = slice.checked;
      }
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

  /** The owner's account of what this store holds, when its data file is found deleted or replaced. */
  undeliveredAccount(): LostEpochAccount {
    if (this.closed) throw new DrError('STORE_CLOSED', 'the store is closed');
    return heldAccount(this.stmt, this.epoch);
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
      cache_size: this.db.pragma('cache_size', { simple: true }),
    }));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.db.close();
  }
}
