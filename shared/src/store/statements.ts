import type Database from 'better-sqlite3';
import { LANE_PRIORITY } from '../record';

/** A record row as SQLite returns it in raw mode (arrays are cheaper to build than objects, per row). */
export type RecordRow = [
  seq: number,
  lane: number,
  stream: string,
  deviceId: string,
  tsMs: number,
  body: string,
  sizeBytes: number,
];

export interface BlockRow {
  readonly id: number;
  readonly lane: number;
  readonly first_seq: number;
  readonly last_seq: number;
  readonly min_ts_ms: number;
  readonly max_ts_ms: number;
  readonly count: number;
  /** Records of the block with a sequence up to this are held by it; later ones are still rows. */
  readonly rows_until: number;
  readonly live: number;
  readonly raw_bytes: number;
  readonly live_bytes: number;
  readonly payload_bytes: number;
  readonly crc: number;
  readonly seq_runs: string;
  readonly summary: string;
}

const SELECT_COLUMNS = 'seq, lane, stream, device_id, ts_ms, body, size_bytes';
const NOT_LEASED = 'AND NOT EXISTS (SELECT 1 FROM temp.leases l WHERE l.seq = r.seq)';
const BLOCK_COLUMNS =
  'id, lane, first_seq, last_seq, min_ts_ms, max_ts_ms, count, rows_until, live, raw_bytes, live_bytes, payload_bytes, crc, seq_runs, summary';

function drainQueries(db: Database.Database, leaseFilter: string) {
  const base = `SELECT ${SELECT_COLUMNS} FROM records r WHERE lane = `;
  const raw = <P extends unknown[]>(sql: string): Database.Statement<P, RecordRow> =>
    db.prepare<P, RecordRow>(sql).raw(true);
  return {
    alert: raw<[number]>(`${base}${LANE_PRIORITY.alert} ${leaseFilter} ORDER BY ts_ms, seq LIMIT ?`),
    live: raw<[number, number]>(
      `${base}${LANE_PRIORITY.telemetry} AND ts_ms >= ? ${leaseFilter} ORDER BY ts_ms, seq LIMIT ?`,
    ),
    /** Backlog rows from a (ts, seq) position on. */
    backlog: raw<[number, number, number, number]>(
      `${base}${LANE_PRIORITY.telemetry} AND ts_ms < ? AND (ts_ms, seq) > (?, ?) ${leaseFilter} ORDER BY ts_ms, seq LIMIT ?`,
    ),
  };
}

export function prepareStatements(db: Database.Database) {
  const pluck = <P extends unknown[], R>(sql: string): Database.Statement<P, R> =>
    db.prepare<P, R>(sql).pluck();
  return {
    getMeta: pluck<[string], string>('SELECT value FROM meta WHERE key = ?'),
    setMeta: db.prepare<[string, string]>('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)'),
    insertRecord: db.prepare<[number, string, string, number, string, number]>(
      'INSERT INTO records (lane, stream, device_id, ts_ms, body, size_bytes) VALUES (?, ?, ?, ?, ?, ?)',
    ),
    deleteRecords: db
      .prepare<[string], [number, number, number]>(
        'DELETE FROM records WHERE seq IN (SELECT value FROM json_each(?)) RETURNING seq, lane, size_bytes',
      )
      .raw(true),
    deleteTelemetryRange: db
      .prepare<[number, number], [number, number, number]>(
        `DELETE FROM records WHERE seq > ? AND seq <= ? AND lane = ${LANE_PRIORITY.telemetry} RETURNING seq, lane, size_bytes`,
      )
      .raw(true),
    recordsAfter: db
      .prepare<[number, number], RecordRow>(
        `SELECT ${SELECT_COLUMNS} FROM records WHERE seq > ? ORDER BY seq LIMIT ?`,
      )
      .raw(true),
    oldestRows: db
      .prepare<[number, number], RecordRow>(
        `SELECT ${SELECT_COLUMNS} FROM records WHERE lane = ? ORDER BY ts_ms, seq LIMIT ?`,
      )
      .raw(true),
    oldestRowTs: pluck<[number], number | null>('SELECT min(ts_ms) FROM records WHERE lane = ?'),
    // Two variants of each drain query: the lease filter costs a lookup per row, and most reads
    // (a reader that acknowledges before reading on) happen with no lease outstanding.
    drain: { leased: drainQueries(db, NOT_LEASED), free: drainQueries(db, '') },
    leaseCount: pluck<[], number>('SELECT count(*) FROM temp.leases'),
    leasedInRange: pluck<[number, number], number>(
      'SELECT seq FROM temp.leases WHERE seq BETWEEN ? AND ? ORDER BY seq',
    ),
    upsertLeases: db.prepare<[number, string]>(
      'INSERT OR REPLACE INTO temp.leases (seq, until_ms) SELECT value, ? FROM json_each(?)',
    ),
    deleteLeases: db.prepare<[string]>(
      'DELETE FROM temp.leases WHERE seq IN (SELECT value FROM json_each(?))',
    ),
    expireLeases: db.prepare<[number]>('DELETE FROM temp.leases WHERE until_ms <= ?'),
    blockLeased: pluck<[number], number>('SELECT count(*) FROM temp.block_leases WHERE id = ?'),
    leaseBlock: db.prepare<[number, number]>(
      'INSERT OR REPLACE INTO temp.block_leases (id, until_ms) VALUES (?, ?)',
    ),
    releaseBlock: db.prepare<[number]>('DELETE FROM temp.block_leases WHERE id = ?'),
    expireBlockLeases: db.prepare<[number]>('DELETE FROM temp.block_leases WHERE until_ms <= ?'),
    addCounter: db.prepare<[string, number]>(
      'INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = value + excluded.value',
    ),
    counters: db.prepare<[], { name: string; value: number }>('SELECT name, value FROM counters'),
    liveDepth: pluck<[number], number>(
      `SELECT count(*) FROM records WHERE lane = ${LANE_PRIORITY.telemetry} AND ts_ms >= ?`,
    ),
    pageCount: pluck<[], number>('PRAGMA page_count'),
    freelistCount: pluck<[], number>('PRAGMA freelist_count'),
    pageSize: pluck<[], number>('PRAGMA page_size'),
    // Blocks.
    insertBlock: db.prepare<
      [number, number, number, number, number, number, number, number, number, number, string, string]
    >(
      `INSERT INTO blocks (lane, first_seq, last_seq, min_ts_ms, max_ts_ms, count, rows_until, live, raw_bytes,
         live_bytes, payload_bytes, crc, seq_runs, summary) VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, 0, ?, ?, ?, ?)`,
    ),
    advanceBlock: db.prepare<[number, number, number, number]>(
      'UPDATE blocks SET rows_until = ?, live = live + ?, live_bytes = live_bytes + ? WHERE id = ?',
    ),
    insertBlockData: db.prepare<[number, Buffer]>('INSERT INTO block_data (id, payload) VALUES (?, ?)'),
    blockPayload: pluck<[number], Buffer | undefined>('SELECT payload FROM block_data WHERE id = ?'),
    block: db.prepare<[number], BlockRow>(`SELECT ${BLOCK_COLUMNS} FROM blocks WHERE id = ?`),
    blockCovering: db.prepare<[number], BlockRow>(
      `SELECT ${BLOCK_COLUMNS} FROM blocks WHERE last_seq >= ? ORDER BY last_seq LIMIT 1`,
    ),
    /** Blocks of a lane in drain order, from a (min_ts_ms, first_seq) position on. */
    blocksFrom: db.prepare<[number, number, number, number], BlockRow>(
      `SELECT ${BLOCK_COLUMNS} FROM blocks WHERE lane = ? AND (min_ts_ms, first_seq) > (?, ?)
         ORDER BY min_ts_ms, first_seq LIMIT ?`,
    ),
    oldestBlockTs: pluck<[number], number | null>('SELECT min(min_ts_ms) FROM blocks WHERE lane = ?'),
    blocksAfterId: db.prepare<[number, number], BlockRow & { payload: Buffer | null }>(
      `SELECT b.${BLOCK_COLUMNS.split(', ').join(', b.')}, d.payload FROM blocks b LEFT JOIN block_data d ON d.id = b.id
         WHERE b.id > ? ORDER BY b.id LIMIT ?`,
    ),
    blockAcks: pluck<[number], number>('SELECT seq FROM block_acks WHERE block_id = ?'),
    insertBlockAck: db.prepare<[number, number]>(
      'INSERT OR IGNORE INTO block_acks (seq, block_id) VALUES (?, ?)',
    ),
    updateBlockLive: db.prepare<[number, number, number]>(
      'UPDATE blocks SET live = live - ?, live_bytes = max(0, live_bytes - ?) WHERE id = ?',
    ),
    deleteBlock: db.prepare<[number]>('DELETE FROM blocks WHERE id = ?'),
    deleteBlockData: db.prepare<[number]>('DELETE FROM block_data WHERE id = ?'),
    deleteBlockAcks: db.prepare<[number]>('DELETE FROM block_acks WHERE block_id = ?'),
    blockSummaries: db.prepare<
      [],
      { lane: number; live: number; count: number; summary: string; id: number }
    >('SELECT id, lane, live, count, summary FROM blocks'),
    rowTallies: db.prepare<
      [],
      { lane: number; stream: string; records: number; fromTsMs: number; toTsMs: number }
    >(
      'SELECT lane, stream, count(*) AS records, min(ts_ms) AS fromTsMs, max(ts_ms) AS toTsMs FROM records GROUP BY lane, stream',
    ),
    // Dead letters.
    insertDeadLetter: db.prepare<[number, string, string, string, Buffer, number]>(
      'INSERT INTO dead_letters (at_ms, source, reason, detail, raw, raw_bytes) VALUES (?, ?, ?, ?, ?, ?)',
    ),
    trimDeadLetters: db.prepare<[number]>(
      'DELETE FROM dead_letters WHERE id <= (SELECT max(id) FROM dead_letters) - ?',
    ),
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
  };
}

export type Statements = ReturnType<typeof prepareStatements>;

export const TEMP_TABLES = [
  'CREATE TEMP TABLE IF NOT EXISTS leases (seq INTEGER PRIMARY KEY, until_ms INTEGER NOT NULL)',
  'CREATE TEMP TABLE IF NOT EXISTS block_leases (id INTEGER PRIMARY KEY, until_ms INTEGER NOT NULL)',
];

/** Counter names kept in step with the data by every write. */
export const counterName = {
  depth: (lane: number): string => `depth:${lane}`,
  bytes: (lane: number): string => `bytes:${lane}`,
};
