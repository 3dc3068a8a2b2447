import type Database from 'better-sqlite3';
import { statSync } from 'node:fs';
import type { Clock } from '../clock';
import { systemClock } from '../clock';
import { DrError } from '../errors';
import {
  formatRecordId,
  LANE_PRIORITY,
  laneFromPriority,
  parseRecordId,
  type JsonObject,
  type Lane,
  type NewRecord,
} from '../record';
import { evictionRound } from './eviction';
import { openDatabase, type CorruptionPolicy } from './open';
import { defaultStoreSettings, type StoreSettings } from './settings';
import { storeError } from './sqlite-errors';
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
} from './types';

export interface OpenStoreOptions {
  readonly path: string;
  /** The gateway's id (its thing name) for a new store; an existing store keeps the one it was created with. */
  readonly gatewayId: string;
  readonly settings?: StoreSettings;
  /** `quarantine` for the store's owner; `fail` (the default) for every other process. */
  readonly onCorrupt?: CorruptionPolicy;
  /** Run `quick_check` at open (the owner does; others skip it). Default: true with `quarantine`. */
  readonly integrityCheck?: boolean;
  readonly clock?: Clock;
  readonly onEvent?: (event: StoreEvent) => void;
}

/** Fixed share of a record's encoded size for its id and JSON keys in an envelope. */
const RECORD_OVERHEAD_BYTES = 64;

/** A row as SQLite returns it in raw mode (arrays are cheaper to build than objects, per row). */
type RecordRow = [
  seq: number,
  lane: number,
  stream: string,
  deviceId: string,
  tsMs: number,
  body: string,
  sizeBytes: number,
];

const SELECT_COLUMNS = 'seq, lane, stream, device_id, ts_ms, body, size_bytes';
const NOT_LEASED = 'NOT EXISTS (SELECT 1 FROM temp.leases l WHERE l.seq = r.seq)';

function drainQueries(db: Database.Database, leaseFilter: string) {
  const base = `SELECT ${SELECT_COLUMNS} FROM records r WHERE lane = `;
  const raw = <P extends unknown[]>(sql: string): Database.Statement<P, RecordRow> =>
    db.prepare<P, RecordRow>(sql).raw(true);
  return {
    alert: raw<[number]>(`${base}${LANE_PRIORITY.alert} ${leaseFilter} ORDER BY ts_ms, seq LIMIT ?`),
    live: raw<[number, number]>(
      `${base}${LANE_PRIORITY.telemetry} AND ts_ms >= ? ${leaseFilter} ORDER BY ts_ms, seq LIMIT ?`,
    ),
    backlog: raw<[number, number]>(
      `${base}${LANE_PRIORITY.telemetry} AND ts_ms < ? ${leaseFilter} ORDER BY ts_ms, seq LIMIT ?`,
    ),
  };
}

export function recordSizeBytes(stream: string, deviceId: string, bodyJson: string): number {
  return (
    Buffer.byteLength(bodyJson) +
    Buffer.byteLength(stream) +
    Buffer.byteLength(deviceId) +
    RECORD_OVERHEAD_BYTES
  );
}

/**
 * The durable record store on one SQLite file shared by several processes (WAL). Every write is an
 * IMMEDIATE transaction, so a writer waits on the busy handler instead of failing on a lock upgrade.
 * Reads hand out leases kept in this connection's memory: a batch read and neither acknowledged nor
 * released is handed out again after `leaseMs`, or by any new process (a restarted Replay).
 */
export class SqliteRecordStore implements RecordStore {
  readonly gatewayId: string;
  readonly epoch: string;
  readonly settings: StoreSettings;
  private readonly db: Database.Database;
  private readonly clock: Clock;
  private readonly idPrefix: string;
  private readonly path: string;
  private readonly inode: number;
  private readonly onEvent: (event: StoreEvent) => void;
  private closed = false;

  private readonly stmt: ReturnType<SqliteRecordStore['prepare']>;
  private readonly appendTx: Database.Transaction<(records: readonly NewRecord[]) => AppendResult>;
  private readonly ackTx: Database.Transaction<(seqs: readonly number[]) => number[]>;
  private readonly leaseTx: Database.Transaction<(seqs: readonly number[], untilMs: number) => void>;
  private readonly deadLetterTx: Database.Transaction<(entries: readonly DeadLetterInput[]) => void>;
  private readonly evictTx: Database.Transaction<(incomingBytes: number) => EvictionReport | null>;

  static open(options: OpenStoreOptions): SqliteRecordStore {
    return new SqliteRecordStore(options);
  }

  private constructor(options: OpenStoreOptions) {
    this.settings = options.settings ?? defaultStoreSettings;
    this.clock = options.clock ?? systemClock;
    this.onEvent = options.onEvent ?? ((): void => undefined);
    this.path = options.path;
    const onCorrupt = options.onCorrupt ?? 'fail';
    const opened = openDatabase(options.path, this.settings, options.gatewayId, {
      onCorrupt,
      integrityCheck: options.integrityCheck ?? onCorrupt === 'quarantine',
      nowMs: this.clock.nowMs(),
    });
    this.db = opened.db;
    this.inode = opened.inode;
    this.db
      .prepare('CREATE TEMP TABLE IF NOT EXISTS leases (seq INTEGER PRIMARY KEY, until_ms INTEGER NOT NULL)')
      .run();
    this.stmt = this.prepare();
    this.epoch = this.stmt.getMeta.get('epoch') ?? '';
    this.gatewayId = this.stmt.getMeta.get('gatewayId') ?? options.gatewayId;
    this.idPrefix = `${this.gatewayId}:${this.epoch}`;

    this.appendTx = this.db.transaction((records: readonly NewRecord[]) => this.appendInTx(records));
    this.ackTx = this.db.transaction((seqs: readonly number[]) => {
      // One statement per batch (json_each) instead of one per record: acks run at upstream speed.
      const list = JSON.stringify(seqs);
      const deleted = new Set(this.stmt.deleteRecords.all(list));
      this.stmt.deleteLeases.run(list);
      if (deleted.size > 0) this.stmt.addCounter.run('acknowledged', deleted.size);
      return seqs.filter((seq) => !deleted.has(seq));
    });
    this.leaseTx = this.db.transaction((seqs: readonly number[], untilMs: number) => {
      this.stmt.upsertLeases.run(untilMs, JSON.stringify(seqs));
    });
    this.deadLetterTx = this.db.transaction((entries: readonly DeadLetterInput[]) =>
      this.deadLetterInTx(entries),
    );
    this.evictTx = this.db.transaction((incoming: number) => this.evictIfNeeded(incoming));

    if (opened.quarantined !== undefined) {
      this.onEvent({
        type: 'recreated',
        code: 'STORE_RECREATED',
        path: options.path,
        quarantinedTo: opened.quarantined.to,
        reason: opened.quarantined.reason,
      });
    }
  }

  private prepare() {
    const db = this.db;
    return {
      getMeta: db.prepare<[string], string>('SELECT value FROM meta WHERE key = ?').pluck(),
      insertRecord: db.prepare<[number, string, string, number, string, number]>(
        'INSERT INTO records (lane, stream, device_id, ts_ms, body, size_bytes) VALUES (?, ?, ?, ?, ?, ?)',
      ),
      deleteRecords: db
        .prepare<[string], number>(
          'DELETE FROM records WHERE seq IN (SELECT value FROM json_each(?)) RETURNING seq',
        )
        .pluck(),
      // Two variants of each drain query: the lease filter costs a lookup per row, and most reads
      // (a reader that acknowledges before reading on) happen with no lease outstanding.
      drain: {
        leased: drainQueries(db, `AND ${NOT_LEASED}`),
        free: drainQueries(db, ''),
      },
      leaseCount: db.prepare<[], number>('SELECT count(*) FROM temp.leases').pluck(),
      upsertLeases: db.prepare<[number, string]>(
        'INSERT OR REPLACE INTO temp.leases (seq, until_ms) SELECT value, ? FROM json_each(?)',
      ),
      deleteLeases: db.prepare<[string]>(
        'DELETE FROM temp.leases WHERE seq IN (SELECT value FROM json_each(?))',
      ),
      expireLeases: db.prepare<[number]>('DELETE FROM temp.leases WHERE until_ms <= ?'),
      addCounter: db.prepare<[string, number]>(
        'INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = value + excluded.value',
      ),
      counters: db.prepare<[], { name: string; value: number }>('SELECT name, value FROM counters'),
      insertDeadLetter: db.prepare<[number, string, string, string, Buffer, number]>(
        'INSERT INTO dead_letters (at_ms, source, reason, detail, raw, raw_bytes) VALUES (?, ?, ?, ?, ?, ?)',
      ),
      trimDeadLetters: db.prepare<[number]>(
        'DELETE FROM dead_letters WHERE id <= (SELECT max(id) FROM dead_letters) - ?',
      ),
      countDeadLetters: db.prepare<[], number>('SELECT count(*) FROM dead_letters').pluck(),
      listDeadLetters: db.prepare<
        [number, number],
        {
          id: number;
          at_ms: number;
          source: string;
          reason: string;
          detail: string;
          raw: Buffer;
          raw_bytes: number;
        }
      >(
        'SELECT id, at_ms, source, reason, detail, raw, raw_bytes FROM dead_letters WHERE id > ? ORDER BY id LIMIT ?',
      ),
      laneStats: db.prepare<[], { lane: number; depth: number; bytes: number; oldest: number | null }>(
        'SELECT lane, count(*) AS depth, total(size_bytes) AS bytes, min(ts_ms) AS oldest FROM records GROUP BY lane',
      ),
      liveDepth: db
        .prepare<[number], number>(
          `SELECT count(*) FROM records WHERE lane = ${LANE_PRIORITY.telemetry} AND ts_ms >= ?`,
        )
        .pluck(),
      pageCount: db.prepare<[], number>('PRAGMA page_count').pluck(),
      freelistCount: db.prepare<[], number>('PRAGMA freelist_count').pluck(),
      pageSize: db.prepare<[], number>('PRAGMA page_size').pluck(),
    };
  }

  /** Bytes in use by pages that hold data; free pages are reused before the file grows. */
  usedBytes(): number {
    const pages = (this.stmt.pageCount.get() ?? 0) - (this.stmt.freelistCount.get() ?? 0);
    return pages * (this.stmt.pageSize.get() ?? 4096);
  }

  private guard(): void {
    if (this.closed) throw new DrError('STORE_CLOSED', 'the store is closed');
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
   */
  append(records: readonly NewRecord[]): AppendResult {
    this.guard();
    if (records.length === 0) return { ids: [], firstSeq: 0, lastSeq: 0 };
    return this.run('append', () => {
      const result = this.appendTx.immediate(records);
      if (result.eviction !== undefined) this.onEvent({ type: 'eviction', report: result.eviction });
      return result;
    });
  }

  private appendInTx(records: readonly NewRecord[]): AppendResult {
    const { json, bytes } = this.encodeAll(records);
    const eviction = this.evictIfNeeded(bytes);
    const ids: string[] = [];
    let firstSeq = 0;
    let lastSeq = 0;
    records.forEach((r, i) => {
      const body = json[i] as string;
      const size = recordSizeBytes(r.stream, r.deviceId, body);
      const seq = Number(
        this.stmt.insertRecord.run(LANE_PRIORITY[r.lane], r.stream, r.deviceId, r.tsMs, body, size)
          .lastInsertRowid,
      );
      if (i === 0) firstSeq = seq;
      lastSeq = seq;
      ids.push(formatRecordId(this.gatewayId, this.epoch, seq));
    });
    this.stmt.addCounter.run('appended', records.length);
    return eviction === null ? { ids, firstSeq, lastSeq } : { ids, firstSeq, lastSeq, eviction };
  }

  private evictIfNeeded(incomingBytes: number): EvictionReport | null {
    const max = this.settings.maxStoreBytes;
    if (this.usedBytes() + incomingBytes <= max) return null;
    return evictionRound({
      db: this.db,
      insertRecord: this.stmt.insertRecord,
      addCounter: this.stmt.addCounter,
      usedBytes: () => this.usedBytes(),
      targetBytes: Math.max(0, Math.floor(max * this.settings.evictToRatio) - incomingBytes),
      gatewayId: this.gatewayId,
      idPrefix: this.idPrefix,
      nowMs: this.clock.nowMs(),
    });
  }

  /**
   * The next batch for upstream: alerts first, then live telemetry (newer than liveWindowMs), then the
   * backlog oldest-first; bounded by count and bytes (at least one record, so an outsized one cannot stall).
   * Returned records are leased to this handle until acknowledged, released, or leaseMs passes.
   */
  nextBatch(request: BatchRequest): StoredRecord[] {
    return this.run('read', () => {
      const nowMs = this.clock.nowMs();
      this.stmt.expireLeases.run(nowMs);
      const out: StoredRecord[] = [];
      let bytes = 0;
      // Rows come in one call per class (cheaper than stepping row by row); the byte bound trims them.
      const take = (rows: readonly RecordRow[]): boolean => {
        for (const row of rows) {
          if (out.length >= request.maxRecords) return false;
          if (out.length > 0 && bytes + row[6] > request.maxBytes) return false;
          bytes += row[6];
          out.push(this.toRecord(row));
        }
        return out.length < request.maxRecords;
      };
      const liveFromMs = nowMs - this.settings.liveWindowMs;
      const q = (this.stmt.leaseCount.get() ?? 0) === 0 ? this.stmt.drain.free : this.stmt.drain.leased;
      // Each query is limited to the records that could still fit.
      if (
        take(q.alert.all(request.maxRecords)) &&
        take(q.live.all(liveFromMs, request.maxRecords - out.length))
      ) {
        take(q.backlog.all(liveFromMs, request.maxRecords - out.length));
      }
      if (out.length > 0)
        this.leaseTx(
          out.map((r) => r.seq),
          nowMs + this.settings.leaseMs,
        );
      return out;
    });
  }

  private toRecord([seq, lane, stream, deviceId, tsMs, body, sizeBytes]: RecordRow): StoredRecord {
    return {
      id: `${this.idPrefix}:${seq}`,
      seq,
      stream,
      lane: laneFromPriority(lane),
      deviceId,
      tsMs,
      body: JSON.parse(body) as JsonObject,
      sizeBytes,
    };
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
   * Deletes records by id (after upstream delivery). `notFound` lists ids that were no longer stored:
   * acknowledged before, evicted by the quota while in flight (then also named by a gap marker), or not
   * ids of this store at all.
   */
  ack(ids: readonly string[]): AckResult {
    const { seqs, foreign } = this.seqsOf(ids);
    if (seqs.length === 0) return { acknowledged: 0, notFound: foreign };
    const missing = this.run('ack', () => this.ackTx.immediate(seqs));
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

  deadLetter(entries: readonly DeadLetterInput[]): void {
    if (entries.length === 0) return;
    this.run('dead-letter', () => this.deadLetterTx.immediate(entries));
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

  metrics(): StoreMetrics {
    return this.run('metrics', () => {
      const nowMs = this.clock.nowMs();
      const empty: LaneMetrics = { depth: 0, bytes: 0, oldestTsMs: null, oldestAgeMs: null };
      const lanes: Record<Lane, LaneMetrics> = { alert: empty, telemetry: empty };
      for (const row of this.stmt.laneStats.all()) {
        lanes[laneFromPriority(row.lane)] = {
          depth: row.depth,
          bytes: row.bytes,
          oldestTsMs: row.oldest,
          oldestAgeMs: row.oldest === null ? null : Math.max(0, nowMs - row.oldest),
        };
      }
      const counters = new Map(this.stmt.counters.all().map((c) => [c.name, c.value]));
      const byReason: Record<string, number> = {};
      for (const [name, value] of counters) {
        if (name.startsWith('deadLetter:')) byReason[name.slice('deadLetter:'.length)] = value;
      }
      return {
        lanes,
        liveTelemetryDepth: this.stmt.liveDepth.get(nowMs - this.settings.liveWindowMs) ?? 0,
        usedBytes: this.usedBytes(),
        fileBytes: fileSize(this.path),
        walBytes: fileSize(`${this.path}-wal`),
        maxStoreBytes: this.settings.maxStoreBytes,
        appendedTotal: counters.get('appended') ?? 0,
        acknowledgedTotal: counters.get('acknowledged') ?? 0,
        evictedRecordsTotal: counters.get('evictedRecords') ?? 0,
        evictionRoundsTotal: counters.get('evictionRounds') ?? 0,
        deadLettersTotal: counters.get('deadLetters') ?? 0,
        deadLettersStored: this.stmt.countDeadLetters.get() ?? 0,
        deadLettersDroppedTotal: counters.get('deadLettersDropped') ?? 0,
        deadLettersByReason: byReason,
      };
    });
  }

  /** Evicts down to the low-water mark when the store is over its quota (the owner's periodic check). */
  enforceQuota(): EvictionReport | null {
    return this.run('enforce quota', () => {
      const report = this.evictTx.immediate(0);
      if (report !== null) this.onEvent({ type: 'eviction', report });
      return report;
    });
  }

  /** Periodic housekeeping: quota, a passive WAL checkpoint, and freed pages handed back to the disk. */
  maintain(): MaintenanceReport {
    const eviction = this.enforceQuota();
    return this.run('maintain', () => {
      const cp = this.db.pragma('wal_checkpoint(PASSIVE)') as {
        busy: number;
        log: number;
        checkpointed: number;
      }[];
      const first = cp[0] ?? { busy: 0, log: 0, checkpointed: 0 };
      const before = this.stmt.freelistCount.get() ?? 0;
      this.db.pragma('incremental_vacuum(4096)');
      const after = this.stmt.freelistCount.get() ?? 0;
      return {
        checkpointedFrames: first.checkpointed,
        walFrames: first.log,
        busy: first.busy !== 0,
        vacuumedPages: Math.max(0, before - after),
        eviction,
      };
    });
  }

  fileReplaced(): boolean {
    try {
      return statSync(this.path).ino !== this.inode;
    } catch {
      return true;
    }
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
    }));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.db.close();
  }
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}
